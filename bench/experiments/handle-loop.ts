// Profiling helper (not part of `npm run bench`): the HTTP bench's ten service methods, one trace per "request",
// without HTTP: what the spans cost in the shape of a request (ten methods sharing one wrapper's code) rather than
// one hot method. `plain` runs the same traces with no `@Trace`. `N` requests per round, `ROUNDS` rounds (the first
// three are warm-up). Under valgrind, instructions are a measure that does not move with the machine's load:
//   taskset -c 1 node --cpu-prof bench/dist/bench/experiments/handle-loop.js trace
//   N=2000 ROUNDS=4 valgrind --tool=callgrind --callgrind-out-file=/dev/null node --single-threaded \
//     bench/dist/bench/experiments/handle-loop.js trace   (minus the same with ROUNDS=0, over N × ROUNDS)
import 'reflect-metadata';
import { performance } from 'node:perf_hooks';
import { Trace } from '../../src/index.js';
import { TraceContext } from '../../src/context/trace-context.js';
import { defaultSink } from '../../src/context/default-sink.js';
import { InventoryRepository, OrdersService, PricingService, decorateServices } from '../http/services.js';

const traced = process.argv[2] === 'trace';
if (traced) decorateServices((target, key, descriptor) => Trace()(target, key, descriptor));
defaultSink.current = { maxSpans: 1000, opened() {}, finished() {} };
const orders = new OrdersService(new InventoryRepository(), new PricingService());
const N = Number(process.env.N ?? 20000);
const ROUNDS = Number(process.env.ROUNDS ?? 8);
async function main(): Promise<void> {
  for (let round = 0; round < ROUNDS; round++) {
    const t0 = performance.now();
    for (let i = 0; i < N; i++) await TraceContext.run('req', () => orders.handle(i, 0));
    const us = ((performance.now() - t0) * 1000) / N;
    if (round >= 3) console.log(process.version, traced ? 'trace' : 'plain', us.toFixed(2), 'µs per request');
  }
}
void main();
