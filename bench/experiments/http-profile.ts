// Profiling helper (not part of `npm run bench`): starts one HTTP bench app (bench/http/app.ts) with `--cpu-prof`,
// pinned to CPU 1, loads it with autocannon from CPU 0 for `SECONDS` (default 10), and closes it, so the profile
// covers the app under load. `BENCH_APP_NODE` picks the Node binary of the app; `PROFILE_DIR` where the profile goes.
//   BENCH_APP_NODE=.node24/node_modules/.bin/node node bench/dist/bench/experiments/http-profile.js trace
import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';
import { pinToCpu } from '../lib/child.js';

const variant = process.argv[2] ?? 'trace';
const seconds = Number(process.env.SECONDS ?? 10);
const app = fork(fileURLToPath(new URL('../http/app.js', import.meta.url)), [variant], {
  execPath: process.env.BENCH_APP_NODE ?? process.execPath,
  execArgv: ['--cpu-prof', `--cpu-prof-dir=${process.env.PROFILE_DIR ?? 'bench/results/profiles'}`],
  stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
});
if (app.pid !== undefined) pinToCpu(app.pid, 1);
pinToCpu(process.pid, 0);
app.once('message', (message) => {
  const url = `http://127.0.0.1:${(message as { port: number }).port}`;
  void (async () => {
    const requests = Array.from({ length: 100 }, (_, i) => ({ method: 'GET', path: `/orders?id=${i + 1}` }));
    await autocannon({ url, connections: 50, duration: 2, requests });
    const result = await autocannon({ url, connections: 50, duration: seconds, requests });
    process.stdout.write(`${variant}: ${result.requests.average.toFixed(0)} req/s\n`);
    app.send('close');
  })();
});
