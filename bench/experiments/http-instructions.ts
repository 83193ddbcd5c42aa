// Profiling helper (not part of `npm run bench`): instructions per request of one HTTP bench app (bench/http/app.ts)
// under valgrind's callgrind, a measure that does not move with the machine's load the way CPU time does on a shared
// VM. The app runs under callgrind (~50 × slower); `WARM` requests warm it up, then the counters are zeroed and dumped
// (`callgrind_control -z` / `-d`) around `N` requests sent one after the other on one keep-alive socket, and around
// an idle stretch of `IDLE_MS` after them. Timers (metrics probes, the hung sweeper, the watchdog's beats) tick in wall time,
// which valgrind stretches ~50 ×, so they would weigh far more per request than they do at full speed: the idle
// stretch measures them (instructions per second with no request) and that rate times the requests' wall time is
// subtracted. What is left is the request path itself, repeatable to about ±1 %. `C` (default 1) requests at a time
// on C sockets: with many in flight, each scavenge finds the live requests' objects and copies them (the bench's
// autocannon keeps 50 in flight), which one request at a time never shows.
//   BENCH_APP_NODE=.node24/node_modules/.bin/node node bench/dist/bench/experiments/http-instructions.js als-mw trace
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';

const WARM = Number(process.env.WARM ?? 1500);
const N = Number(process.env.N ?? 1000);
const IDLE_MS = Number(process.env.IDLE_MS ?? 20_000);
const C = Number(process.env.C ?? 1);
const node = process.env.BENCH_APP_NODE ?? process.execPath;

function get(agent: Agent, port: number, path: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, agent }, (res) => {
      res.resume();
      res.on('end', () => (res.statusCode === 200 ? resolve() : reject(new Error(`status ${res.statusCode}`))));
    });
    req.on('error', reject);
    req.end();
  });
}

/** `n` requests, `C` at a time (each of C loops sends its next request when its last one is answered). */
async function requests(agent: Agent, port: number, n: number): Promise<void> {
  let next = 0;
  const loop = async (): Promise<void> => {
    while (next < n) {
      const i = next++;
      await get(agent, port, `/orders?id=${(i % 100) + 1}`);
    }
  };
  await Promise.all(Array.from({ length: C }, loop));
}

async function measure(variant: string): Promise<number> {
  const dir = mkdtempSync(join(tmpdir(), 'callgrind-'));
  const app = spawn(
    'valgrind',
    [
      '--tool=callgrind',
      '--dump-instr=no',
      `--callgrind-out-file=${join(dir, 'out.%p')}`,
      node,
      fileURLToPath(new URL('../http/app.js', import.meta.url)),
      variant,
    ],
    { stdio: ['ignore', 'ignore', 'ignore', 'ipc'] },
  );
  const port = await new Promise<number>((resolve) =>
    app.once('message', (message) => resolve((message as { port: number }).port)),
  );
  const agent = new Agent({ keepAlive: true, maxSockets: C });
  await requests(agent, port, WARM);
  const pid = String(app.pid);
  // Requests first: after an idle stretch V8 has flushed some bytecode and the requests would pay to compile it again.
  execFileSync('callgrind_control', ['-z', pid], { stdio: 'ignore' });
  let started = performance.now();
  await requests(agent, port, N);
  execFileSync('callgrind_control', ['-d', pid], { stdio: 'ignore' });
  const busyMs = performance.now() - started;
  execFileSync('callgrind_control', ['-z', pid], { stdio: 'ignore' });
  started = performance.now();
  await sleep(IDLE_MS);
  execFileSync('callgrind_control', ['-d', pid], { stdio: 'ignore' });
  const idleMs = performance.now() - started;
  agent.destroy();
  app.send('close');
  await new Promise((resolve) => app.once('exit', resolve));
  // `-d` dumps to `out.<pid>.<n>`: .1 the requests, .2 the idle stretch (the final dump at exit is `out.<pid>`).
  const busy = summary(dir, '.1');
  const idle = summary(dir, '.2');
  const timers = (idle / idleMs) * busyMs;
  // KEEP=1 leaves the dumps for `callgrind_annotate` (C++ and builtin functions by name; JIT code shows as `???`).
  if (process.env.KEEP === '1') process.stdout.write(`${variant}: dumps in ${dir}\n`);
  else rmSync(dir, { recursive: true, force: true });
  process.stdout.write(
    `${variant}: ${(busy / N / 1000).toFixed(1)} k per request in all, ${(((idle / idleMs) * 1000) / 1e6).toFixed(1)} M per ` +
      `second idle, ${(busyMs / N).toFixed(1)} ms per request under valgrind\n`,
  );
  return (busy - timers) / N;
}

/** Instructions of a callgrind dump whose file name ends with `suffix`. */
function summary(dir: string, suffix: string): number {
  let instructions = 0;
  for (const file of readdirSync(dir).filter((name) => name.endsWith(suffix))) {
    const found = /^summary:\s+(\d+)/m.exec(readFileSync(join(dir, file), 'utf8'));
    instructions += Number(found?.[1] ?? 0);
  }
  return instructions;
}

for (const variant of process.argv.slice(2)) {
  const perRequest = await measure(variant);
  process.stdout.write(`${variant}: ${(perRequest / 1000).toFixed(1)} k instructions per request, timers left out\n`);
}
