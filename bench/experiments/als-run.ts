// Profiling helper (not part of `npm run bench`): what one `AsyncLocalStorage.run`, one `getStore()` and one
// `performance.now()` cost on the Node that runs it, in a hot loop (a lower bound of their cost in an app).
//   for n in node .node22/node_modules/.bin/node .node24/node_modules/.bin/node; do
//     taskset -c 1 $n bench/dist/bench/experiments/als-run.js; done
import { AsyncLocalStorage } from 'node:async_hooks';
import { performance } from 'node:perf_hooks';

const storage = new AsyncLocalStorage<{ i: number }>();
const N = 2_000_000;
const add = (x: number): number => x + 1;

function time(name: string, body: (i: number) => number): void {
  let best = Number.POSITIVE_INFINITY;
  let sum = 0;
  for (let round = 0; round < 5; round++) {
    const start = performance.now();
    for (let i = 0; i < N; i++) sum += body(i);
    best = Math.min(best, ((performance.now() - start) * 1e6) / N);
  }
  console.log(`${process.version} ${name}: ${best.toFixed(1)} ns${sum === 0 ? ' ' : ''}`);
}

storage.run({ i: 0 }, () => {
  time('plain call', (i) => add(i));
  time('AsyncLocalStorage.run', (i) => storage.run({ i }, add, i));
  time('getStore()', (i) => (storage.getStore() === undefined ? 0 : i));
  time('performance.now()', () => performance.now());
});
