import 'reflect-metadata';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { Bench } from 'tinybench';
import { Logger } from '@nestjs/common';
import { TraceContext } from '../../src/context/trace-context.js';
import { installNestLoggerCapture } from '../../src/logs/nest-logger.capture.js';
import { defaultSink } from '../../src/context/default-sink.js';
import type { ActiveTrace, TraceSink } from '../../src/context/active-trace.js';
import { pinToCpu, progress, section } from '../lib/child.js';
import { median } from '../lib/stats.js';
import { setupOtel } from '../peers/otel-setup.js';
import {
  FloorService,
  OtelSpannedService,
  PlainService,
  ThenFloorService,
  TracedService,
  WrappedService,
  floorStorage,
} from './subjects.js';

/** ns per call per task per round, and the same-round ratios the budgets use. */
export interface MicroResult {
  rounds: number;
  /** Ran pinned to one CPU. */
  pinned: boolean;
  /** task → ns per call, one value per round. */
  perRound: Record<string, number[]>;
  /** task → median over rounds. */
  ns: Record<string, number>;
  /** Checks that the measured spans were really recorded (not dropped). */
  checks: Record<string, string>;
  /** The budgets' combinations, from batches run back to back (see `pairedCycles`): median and quartiles over cycles. */
  paired: { cycles: number; values: Record<string, { median: number; low: number; high: number }> };
}

const ROUNDS = Number(process.env.BENCH_MICRO_ROUNDS ?? 10);
const TASK_MS = Number(process.env.BENCH_MICRO_TASK_MS ?? 100);
const SYNC_CALLS = 1000;
const ASYNC_CALLS = 100;
const OBS_CALLS = 200;
/** Nest `Logger.log` calls: 50 traces of 20 calls (20 is the per-span cap, so every call in a trace is recorded). */
const LOG_TRACES = 50;
const LOGS_PER_TRACE = 20;
const LOG_CALLS = LOG_TRACES * LOGS_PER_TRACE;

/** Keeps every trace it is given, up to a large span limit, so the benchmark measures recorded spans. */
class BenchSink implements TraceSink {
  readonly maxSpans = 100_000;
  last: ActiveTrace | undefined;
  opened(): void {}
  finished(context: ActiveTrace): void {
    this.last = context;
  }
}

let blackhole = 0;

const CYCLES = Number(process.env.BENCH_MICRO_CYCLES ?? 300);

/**
 * The budgets compare two variants, and this VM runs at one of two speeds that can change within a tinybench round
 * (1.7 s): a ratio of round medians then mixes a fast stretch of one variant with a slow one of the other. Here each
 * cycle runs one batch of every variant a budget needs, back to back in a shuffled order (a cycle takes ~1–4 ms), and
 * each budget's combination is computed within the cycle; the result is the median over cycles.
 */
async function pairedCycles(
  tasks: ReadonlyArray<{ name: string; calls: number; fn: () => unknown }>,
  exporter: { reset(): void },
): Promise<MicroResult['paired']> {
  const groups = [
    ['plain', 'floor', 'trace', 'trace-untraced', 'otel'],
    ['plain-async', 'floor-async', 'then-floor-async', 'trace-async', 'otel-async'],
    ['log-outside', 'log-trace', 'log-trace-empty'],
  ];
  const byName = new Map(tasks.map((task) => [task.name, task]));
  const series: Record<string, number[]> = {};
  const push = (key: string, value: number): void => {
    (series[key] ??= []).push(value);
  };
  for (let cycle = 0; cycle < CYCLES; cycle++) {
    const t: Record<string, number> = {};
    for (const group of groups) {
      const order = shuffled(group, cycle);
      for (const name of order) {
        const task = byName.get(name);
        if (!task) continue;
        const start = performance.now();
        await task.fn();
        t[name] = ((performance.now() - start) * 1e6) / task.calls;
      }
    }
    const at = (name: string): number => t[name] ?? Number.NaN;
    for (const name of Object.keys(t)) push(`ns:${name}`, at(name));
    push('sync', at('trace') / at('floor'));
    push('async', at('trace-async') / at('floor-async'));
    push('untraced', at('trace-untraced') - at('plain'));
    push('otelSync', (at('otel') - at('plain')) / (at('trace') - at('plain')));
    push('otelAsync', (at('otel-async') - at('plain-async')) / (at('trace-async') - at('plain-async')));
    push('otelAsyncFloor', (at('otel-async') - at('plain-async')) / (at('floor-async') - at('plain-async')));
    push('otelAsyncBound', (at('otel-async') - at('plain-async')) / (at('then-floor-async') - at('plain-async')));
    push('logInTrace', at('log-trace') - at('log-trace-empty') - at('log-outside'));
    if (cycle % 20 === 19) {
      exporter.reset();
      await sleep(20); // lets the BatchSpanProcessor export
    }
  }
  const values = Object.fromEntries(
    Object.entries(series).map(([key, list]) => {
      const sorted = list.filter((value) => Number.isFinite(value)).sort((a, b) => a - b);
      const quantile = (q: number): number =>
        sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? Number.NaN;
      return [key, { median: median(sorted), low: quantile(0.25), high: quantile(0.75) }];
    }),
  );
  progress(`micro paired cycles: ${CYCLES}`);
  return { cycles: CYCLES, values };
}

/** The same items in an order that changes from cycle to cycle (a rotation, reversed every other cycle). */
function shuffled(items: readonly string[], cycle: number): string[] {
  const shift = cycle % items.length;
  const rotated = [...items.slice(shift), ...items.slice(0, shift)];
  return cycle % 2 === 0 ? rotated : rotated.reverse();
}

section(async (): Promise<MicroResult> => {
  // One CPU for the whole run: a migration between the VM's CPUs shows up as a different speed.
  const pinned = pinToCpu(process.pid, 1);
  const sink = new BenchSink();
  defaultSink.current = sink;
  const { tracer, exporter } = setupOtel();
  const plain = new PlainService();
  const wrapped = new WrappedService();
  const floor = new FloorService();
  const thenFloor = new ThenFloorService();
  const traced = new TracedService();
  const spanned = new OtelSpannedService();
  const consume = (value: number): void => {
    blackhole += value;
  };
  // `captureLogs` as an app has it, with the app's logger a no-op: what is measured is the hook, not the printing.
  installNestLoggerCapture();
  Logger.overrideLogger({ log: () => undefined, error: () => undefined, warn: () => undefined });
  const logger = new Logger('Rooms');
  const logLoop = (traced: boolean, log: boolean): void => {
    for (let t = 0; t < LOG_TRACES; t++) {
      const batch = (): void => {
        for (let i = 0; i < LOGS_PER_TRACE; i++) if (log) logger.log('room joined');
      };
      if (traced) TraceContext.run('batch', batch);
      else batch();
    }
  };

  // Each task is one batch of calls: sync in one trace (a fresh root per batch, as a request would have),
  // async awaited one after the other, so the ns per call is the batch time over the batch size.
  const tasks: Array<{ name: string; calls: number; fn: () => unknown }> = [
    { name: 'plain', calls: SYNC_CALLS, fn: () => syncLoop((i) => plain.add(i)) },
    { name: 'wrapper', calls: SYNC_CALLS, fn: () => syncLoop((i) => wrapped.add(i)) },
    {
      name: 'floor',
      calls: SYNC_CALLS,
      fn: () => floorStorage.run({ records: [] }, () => syncLoop((i) => floor.add(i))),
    },
    { name: 'trace', calls: SYNC_CALLS, fn: () => TraceContext.run('batch', () => syncLoop((i) => traced.add(i))) },
    { name: 'trace-untraced', calls: SYNC_CALLS, fn: () => syncLoop((i) => traced.add(i)) },
    {
      name: 'otel',
      calls: SYNC_CALLS,
      fn: () =>
        tracer.startActiveSpan('batch', (root) => {
          syncLoop((i) =>
            tracer.startActiveSpan('PlainService.add', (span) => {
              try {
                return plain.add(i);
              } finally {
                span.end();
              }
            }),
          );
          root.end();
        }),
    },
    {
      name: 'otel-span',
      calls: SYNC_CALLS,
      fn: () => tracer.startActiveSpan('batch', (root) => (syncLoop((i) => spanned.add(i)), root.end())),
    },
    { name: 'plain-async', calls: ASYNC_CALLS, fn: () => asyncLoop((i) => plain.addAsync(i)) },
    { name: 'wrapper-async', calls: ASYNC_CALLS, fn: () => asyncLoop((i) => wrapped.addAsync(i)) },
    {
      name: 'floor-async',
      calls: ASYNC_CALLS,
      fn: () => floorStorage.run({ records: [] }, () => asyncLoop((i) => floor.addAsync(i))),
    },
    {
      name: 'then-floor-async',
      calls: ASYNC_CALLS,
      fn: () => floorStorage.run({ records: [] }, () => asyncLoop((i) => thenFloor.addAsync(i))),
    },
    {
      name: 'trace-async',
      calls: ASYNC_CALLS,
      fn: () => TraceContext.run('batch', () => asyncLoop((i) => traced.addAsync(i))),
    },
    { name: 'trace-async-untraced', calls: ASYNC_CALLS, fn: () => asyncLoop((i) => traced.addAsync(i)) },
    {
      name: 'otel-async',
      calls: ASYNC_CALLS,
      fn: () =>
        tracer.startActiveSpan('batch', async (root) => {
          await asyncLoop((i) =>
            tracer.startActiveSpan('PlainService.addAsync', async (span) => {
              try {
                return await plain.addAsync(i);
              } finally {
                span.end();
              }
            }),
          );
          root.end();
        }),
    },
    {
      name: 'otel-span-async',
      calls: ASYNC_CALLS,
      fn: () =>
        tracer.startActiveSpan('batch', async (root) => {
          await asyncLoop((i) => spanned.addAsync(i));
          root.end();
        }),
    },
    { name: 'plain-obs', calls: OBS_CALLS, fn: () => obsLoop((i) => plain.obs(i)) },
    { name: 'trace-obs', calls: OBS_CALLS, fn: () => TraceContext.run('batch', () => obsLoop((i) => traced.obs(i))) },
    { name: 'trace-obs-untraced', calls: OBS_CALLS, fn: () => obsLoop((i) => traced.obs(i)) },
    // ns per call of `log-trace` − `log-trace-empty` (the same traces, no call) − `log-outside`: what a call in a trace
    // that is not reported adds over the same call outside any trace.
    { name: 'log-outside', calls: LOG_CALLS, fn: () => logLoop(false, true) },
    { name: 'log-trace', calls: LOG_CALLS, fn: () => logLoop(true, true) },
    { name: 'log-trace-empty', calls: LOG_CALLS, fn: () => logLoop(true, false) },
  ];

  function syncLoop(call: (i: number) => number): void {
    for (let i = 0; i < SYNC_CALLS; i++) consume(call(i));
  }
  async function asyncLoop(call: (i: number) => Promise<number>): Promise<void> {
    for (let i = 0; i < ASYNC_CALLS; i++) consume(await call(i));
  }
  function obsLoop(call: (i: number) => { subscribe(next: (value: number) => void): unknown }): void {
    for (let i = 0; i < OBS_CALLS; i++) call(i).subscribe(consume);
  }

  // Recorded, not dropped: one batch of each traced task must leave exactly calls + 1 spans in its trace.
  const checks: Record<string, string> = {};
  for (const task of tasks.filter((t) => t.name === 'trace' || t.name === 'trace-async' || t.name === 'trace-obs')) {
    sink.last = undefined;
    await task.fn();
    const context = sink.last as ActiveTrace | undefined;
    const ok = context !== undefined && context.count === task.calls + 1 && context.droppedSpans === 0;
    checks[task.name] = context
      ? `${context.count - 1} spans recorded, ${context.droppedSpans} dropped`
      : 'no trace finished';
    if (!ok) throw new Error(`${task.name}: expected ${task.calls} recorded spans, got ${checks[task.name]}`);
  }

  const perRound: Record<string, number[]> = Object.fromEntries(tasks.map((task) => [task.name, []]));
  for (let round = 0; round < ROUNDS; round++) {
    // Interleaved: every round runs every task once, starting one task later each round.
    const shift = round % tasks.length;
    const order = [...tasks.slice(shift), ...tasks.slice(0, shift)];
    const bench = new Bench({ time: TASK_MS, warmupTime: 20, iterations: 5, warmupIterations: 5, throws: true });
    for (const task of order) bench.add(task.name, task.fn);
    await bench.run();
    for (const task of bench.tasks) {
      const result = task.result;
      const calls = tasks.find((t) => t.name === task.name)?.calls ?? 1;
      const p50 = result.state === 'completed' ? result.latency.p50 : Number.NaN;
      perRound[task.name]?.push((p50 * 1e6) / calls);
    }
    exporter.reset();
    await sleep(20); // lets the BatchSpanProcessor export between rounds
    progress(`micro round ${round + 1}/${ROUNDS}`);
  }
  const ns = Object.fromEntries(Object.entries(perRound).map(([name, values]) => [name, median(values)]));
  const paired = await pairedCycles(tasks, exporter);
  if (blackhole === 42) progress('');
  return { rounds: ROUNDS, pinned, perRound, ns, checks, paired };
});
