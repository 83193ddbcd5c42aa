// A local experiment, not part of `npm run bench`: the library's hot path (src/) against a modified copy
// (bench/experiments/hot-path/src/: sync methods run on the caller's frame instead of one AsyncLocalStorage.run per
// call, and an open-trace counter lets `@Trace` skip getStore() when no trace is open anywhere). Run:
//   node bench/build.mjs && node bench/dist/bench/experiments/hot-path.js
import 'reflect-metadata';
import { AsyncLocalStorage } from 'node:async_hooks';
import { performance } from 'node:perf_hooks';
import { Bench } from 'tinybench';
import { TraceContext, defaultSink } from '../../src/context/trace-context.js';
import type { TraceSink } from '../../src/context/trace-context.js';
import { TraceFrame, traceStorage } from '../../src/context/trace-storage.js';
import { traceMethod } from '../../src/decorators/traced-method.js';
import { median } from '../lib/stats.js';
import { FloorService, PlainService, floorStorage } from '../micro/subjects.js';
import * as Exp from './hot-path/src/context/trace-context.js';
import { traceMethod as expTraceMethod } from './hot-path/src/decorators/traced-method.js';

type Method = (this: unknown, ...args: unknown[]) => unknown;
const N = 1000;
const ROUNDS = Number(process.env.ROUNDS ?? 8);

class Sink implements TraceSink, Exp.TraceSink {
  readonly maxSpans = 100_000;
  last: { count: number; spanParent(span: number): number } | undefined;
  opened(): void {}
  finished(context: { count: number; spanParent(span: number): number }): void {
    this.last = context;
  }
}
const sink = new Sink();
defaultSink.current = sink;
Exp.defaultSink.current = sink;

function makeService(wrap: (m: Method, name: string) => Method): { add(a: number): number; outer(a: number): number; addAsync(a: number): Promise<number> } {
  class Service {
    add(a: number): number {
      return a + 1;
    }
    outer(a: number): number {
      return this.add(a) + 1;
    }
    async addAsync(a: number): Promise<number> {
      return a + 1;
    }
  }
  for (const key of ['add', 'outer', 'addAsync'] as const) {
    (Service.prototype as unknown as Record<string, Method>)[key] = wrap(Service.prototype[key] as Method, key);
  }
  return new Service();
}
const lib = makeService((m, name) => traceMethod(m, name, { span: true }));
const exp = makeService((m, name) => expTraceMethod(m, name, { span: true }));
const plain = new PlainService();
const floor = new FloorService();
let blackhole = 0;
const loop = (call: (i: number) => number): void => {
  for (let i = 0; i < N; i++) blackhole += call(i);
};
const asyncLoop = async (call: (i: number) => Promise<number>): Promise<void> => {
  for (let i = 0; i < 100; i++) blackhole += await call(i);
};
const otherStorage = new AsyncLocalStorage<object>();
const frame = new TraceFrame(undefined as never, 0);

// Correctness of the copy: nested sync calls keep their parent once the fast path is on.
for (let k = 0; k < 3; k++) Exp.TraceContext.run('check', () => exp.outer(1));
const checked = sink.last;
if (!checked || checked.count !== 3 || checked.spanParent(2) !== 1) throw new Error('experiment broke nesting');

const tasks: Array<[string, number, () => unknown]> = [
  ['plain', N, () => loop((i) => plain.add(i))],
  ['floor', N, () => floorStorage.run({ records: [] }, () => loop((i) => floor.add(i)))],
  ['lib: @Trace in a trace', N, () => TraceContext.run('b', () => loop((i) => lib.add(i)))],
  ['exp: @Trace in a trace', N, () => Exp.TraceContext.run('b', () => loop((i) => exp.add(i)))],
  ['lib: @Trace, no trace', N, () => loop((i) => lib.add(i))],
  ['exp: @Trace, no trace open anywhere', N, () => loop((i) => exp.add(i))],
  ['lib: async in a trace', 100, () => TraceContext.run('b', () => asyncLoop((i) => lib.addAsync(i)))],
  ['exp: async in a trace', 100, () => Exp.TraceContext.run('b', () => asyncLoop((i) => exp.addAsync(i)))],
  ['prim: traceStorage.getStore()', N, () => loop((i) => (traceStorage.getStore() === undefined ? i : 0))],
  ['prim: performance.now()', N, () => loop(() => performance.now())],
  ['prim: als.run(frame, fn)', N, () => loop((i) => otherStorage.run(frame, () => i))],
  ['prim: new TraceFrame', N, () => loop((i) => new TraceFrame(undefined as never, i).span)],
];

const perRound = new Map<string, number[]>(tasks.map(([name]) => [name, []]));
for (let round = 0; round < ROUNDS; round++) {
  const bench = new Bench({ time: 100, warmupTime: 20, iterations: 5, throws: true });
  const shift = round % tasks.length;
  for (const [name, , fn] of [...tasks.slice(shift), ...tasks.slice(0, shift)]) bench.add(name, fn);
  await bench.run();
  for (const task of bench.tasks) {
    const calls = tasks.find(([name]) => name === task.name)?.[1] ?? 1;
    perRound.get(task.name)?.push(task.result.state === 'completed' ? (task.result.latency.p50 * 1e6) / calls : Number.NaN);
  }
}
// "Outside a trace while other requests are traced": one trace is left open for this row only.
const honest: number[] = [];
Exp.TraceContext.run('held open', () => new Promise<void>((resolve) => setTimeout(resolve, 5000)).then(() => undefined));
for (let round = 0; round < ROUNDS; round++) {
  await traceStorage.exit(async () => {
    const bench = new Bench({ time: 100, warmupTime: 20, iterations: 5, throws: true });
    bench.add('x', () => loop((i) => exp.add(i)));
    await bench.run();
    const result = bench.tasks[0]?.result;
    honest.push(result?.state === 'completed' ? (result.latency.p50 * 1e6) / N : Number.NaN);
  });
}
console.log('| variant | ns per call (median of rounds) |\n|---|---:|');
for (const [name, values] of perRound) console.log(`| ${name} | ${median(values).toFixed(1)} |`);
console.log(`| exp: @Trace, no trace here but another trace open | ${median(honest).toFixed(1)} |`);
const r = (a: string, b: string): string => median((perRound.get(a) ?? []).map((x, i) => x / (perRound.get(b)?.[i] ?? Number.NaN))).toFixed(2);
console.log(`\nlib/floor ${r('lib: @Trace in a trace', 'floor')} ×, exp/floor ${r('exp: @Trace in a trace', 'floor')} ×, exp-async/lib-async ${r('exp: async in a trace', 'lib: async in a trace')} ×`);
if (blackhole === 0.5) console.log('');
process.exit(0);
