// Compiles bench/ together with src/ into bench/dist. src/ is edited by others while the benchmark is developed:
// a type error there is reported but does not stop the run as long as tsc emitted the files (a syntax error does).
import { execFileSync } from 'node:child_process';
import { existsSync, rmSync } from 'node:fs';

rmSync('bench/dist', { recursive: true, force: true });
try {
  execFileSync(process.execPath, ['node_modules/typescript/bin/tsc', '-p', 'bench/tsconfig.json'], {
    stdio: 'inherit',
  });
} catch {
  if (!existsSync('bench/dist/bench/run.js')) process.exit(1);
  process.stderr.write('[bench] tsc reported type errors (above); running the emitted JavaScript anyway\n');
}
