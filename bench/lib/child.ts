import { execFileSync, fork } from 'node:child_process';
import { cpus } from 'node:os';
import { fileURLToPath } from 'node:url';

/** What every section script sends back to the runner (one message, then it exits). */
export interface SectionMessage<T> {
  ok: boolean;
  result?: T;
  error?: string;
}

/**
 * Runs a compiled section script (`bench/dist/bench/<file>.js`) in its own Node process, so sections never share a
 * heap, a JIT profile or enabled async hooks, and resolves with the one result it sends over IPC.
 */
export function runSection<T>(
  script: string,
  args: readonly string[] = [],
  execArgv: readonly string[] = [],
  execPath: string = process.execPath,
): Promise<T> {
  const path = fileURLToPath(new URL(`../${script}`, import.meta.url));
  return new Promise<T>((resolve, reject) => {
    const child = fork(path, [...args], {
      execArgv: [...execArgv],
      execPath,
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    let message: SectionMessage<T> | undefined;
    child.on('message', (value) => {
      message = value as SectionMessage<T>;
    });
    child.on('error', reject);
    child.on('exit', (code) => {
      if (message?.ok) resolve(message.result as T);
      else reject(new Error(message?.error ?? `${script} exited with code ${String(code)} without a result`));
    });
  });
}

/** Called by a section script: runs `main`, sends its result (or error) to the runner and exits. */
export function section<T>(main: () => Promise<T>): void {
  main().then(
    (result) => finish({ ok: true, result }),
    (error: unknown) =>
      finish({ ok: false, error: error instanceof Error ? (error.stack ?? error.message) : String(error) }),
  );
}

function finish(message: SectionMessage<unknown>): void {
  if (process.send) process.send(message, () => process.exit(0));
  else {
    process.stdout.write(`${JSON.stringify(message, null, 2)}\n`);
    process.exit(message.ok ? 0 : 1);
  }
}

/** One line of progress on stderr (stdout is kept for the final table). */
export function progress(text: string): void {
  process.stderr.write(`[bench] ${text}\n`);
}

/**
 * Pins a process (all its threads) to one CPU with `taskset`, so it is not migrated mid-measurement and does not
 * share a core with the load generator. Returns false where that is not possible (one CPU, no taskset, BENCH_NO_PIN=1).
 */
export function pinToCpu(pid: number, cpu: number): boolean {
  if (process.env.BENCH_NO_PIN === '1' || cpus().length < 2) return false;
  try {
    execFileSync('taskset', ['-a', '-p', '-c', String(cpu), String(pid)], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}
