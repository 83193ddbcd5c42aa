// Background work (`npm run bench`, section "background"): an `@Interval` tick and a BullMQ job, each running the HTTP
// app's ten service methods, traced as TraceModule's `cron` and `queue` entry points wrap them (a trace of their own,
// nothing reported) against the same bodies untraced. CPU per tick / job of this process (`process.cpuUsage()`),
// the variants alternated in short rounds, the order swapped every round; a job's figure includes BullMQ's own work
// in this process (its Redis round trips), which is what a user's worker pays too.
import 'reflect-metadata';
import { Processor } from '@nestjs/bullmq';
import { Interval } from '@nestjs/schedule';
import type { Job } from 'bullmq';
import { Queue, Worker } from 'bullmq';
import type { ActiveTrace, TraceSink } from '../../src/context/active-trace.js';
import { traceMethod } from '../../src/decorators/traced-method.js';
import { cronEntryPoint } from '../../src/entry/cron.entry.js';
import { queueEntryPoint } from '../../src/entry/queue.entry.js';
import { Trace } from '../../src/index.js';
import { InventoryRepository, OrdersService, PricingService, decorateServices } from '../http/services.js';
import { progress, section } from '../lib/child.js';
import { median } from '../lib/stats.js';

/** One variant pair: µs of CPU per unit, medians over rounds, and the traced / untraced ratio of each round. */
export interface BackgroundPair {
  untracedUs: number;
  tracedUs: number;
  ratios: number[];
  /** Traces finished in the traced variant, and spans per trace (proves it recorded). */
  traces: number;
  spansPerTrace: number;
}

export interface BackgroundResult {
  tick: BackgroundPair;
  job: BackgroundPair | { skipped: string };
}

/** Counts finished traces and their spans (the reporter's cheap path: nothing is reported). */
class CountingSink implements TraceSink {
  readonly maxSpans = 1000;
  traces = 0;
  spans = 0;
  opened(): void {}
  finished(trace: ActiveTrace): void {
    this.traces++;
    this.spans += trace.count;
  }
}

// The untraced bodies: a second instance of the services module (another URL is another module, with classes of its
// own that `@Trace` below never touches).
const untraced = (await import(
  new URL('../http/services.js?untraced', import.meta.url).href
)) as typeof import('../http/services.js');
const plainOrders = new untraced.OrdersService(new untraced.InventoryRepository(), new untraced.PricingService());
decorateServices((target, key, descriptor) => {
  Trace()(target, key, descriptor);
});
const tracedOrders = new OrdersService(new InventoryRepository(), new PricingService());

class GameLoop {
  constructor(readonly orders: OrdersService) {}
  @Interval(16)
  tick(i: number): Promise<unknown> {
    return this.orders.handle(i, 0);
  }
}

const QUEUE = `nestjs-trace-bench-${process.pid}`;

@Processor(QUEUE)
class MatchResults {
  constructor(readonly orders: OrdersService) {}
  process(job: Job<{ i: number }>): Promise<unknown> {
    return this.orders.handle(job.data.i, 0);
  }
}

type Unit = (i: number) => Promise<unknown>;

async function alternate(
  rounds: number,
  plain: Unit,
  traced: Unit,
  perRound: number,
  label: string,
): Promise<{ plain: number[]; traced: number[] }> {
  const result = { plain: [] as number[], traced: [] as number[] };
  for (let r = 0; r < rounds + 2; r++) {
    const order = r % 2 === 0 ? (['plain', 'traced'] as const) : (['traced', 'plain'] as const);
    for (const which of order) {
      const start = process.cpuUsage();
      await (which === 'plain' ? plain : traced)(perRound);
      const used = process.cpuUsage(start);
      // The first two rounds warm up.
      if (r >= 2) result[which].push((used.user + used.system) / perRound);
    }
    progress(`background ${label} round ${r + 1}/${rounds + 2}`);
  }
  return result;
}

function pair(measured: { plain: number[]; traced: number[] }, sink: CountingSink): BackgroundPair {
  return {
    untracedUs: median(measured.plain),
    tracedUs: median(measured.traced),
    ratios: measured.traced.map((t, i) => t / (measured.plain[i] ?? Number.NaN)),
    traces: sink.traces,
    spansPerTrace: sink.spans / Math.max(1, sink.traces),
  };
}

async function ticks(): Promise<BackgroundPair> {
  const sink = new CountingSink();
  const untracedTick = GameLoop.prototype.tick;
  const root = cronEntryPoint().rootFor({ type: GameLoop, name: 'tick', fn: untracedTick } as never, () => sink);
  if (root === undefined) throw new Error('the cron entry point did not take the @Interval method');
  const tracedTick = traceMethod(untracedTick as never, 'tick', { root }) as unknown as GameLoop['tick'];
  const plainLoop = new GameLoop(plainOrders as unknown as OrdersService);
  const tracedLoop = new GameLoop(tracedOrders);
  const run =
    (loop: GameLoop, tick: GameLoop['tick']): Unit =>
    async (n) => {
      for (let i = 0; i < n; i++) await tick.call(loop, i);
    };
  const measured = await alternate(16, run(plainLoop, untracedTick), run(tracedLoop, tracedTick), 2000, 'tick');
  return pair(measured, sink);
}

async function jobs(): Promise<BackgroundPair | { skipped: string }> {
  const connection = { host: process.env.BENCH_DB_HOST ?? '127.0.0.1', port: 6379, maxRetriesPerRequest: null };
  const sink = new CountingSink();
  const untracedProcess = MatchResults.prototype.process;
  const root = queueEntryPoint().rootFor(
    { type: MatchResults, name: 'process', fn: untracedProcess } as never,
    () => sink,
  );
  if (root === undefined) throw new Error('the queue entry point did not take the @Processor method');
  const tracedProcess = traceMethod(untracedProcess as never, 'process', {
    root,
  }) as unknown as MatchResults['process'];
  const plainProcessor = new MatchResults(plainOrders as unknown as OrdersService);
  const tracedProcessor = new MatchResults(tracedOrders);

  const queues = {
    plain: new Queue(`${QUEUE}-plain`, { connection }),
    traced: new Queue(`${QUEUE}-traced`, { connection }),
  };
  try {
    await Promise.race([
      queues.plain.waitUntilReady(),
      new Promise((_, reject) => setTimeout(() => reject(new Error('no Redis at 127.0.0.1:6379')), 3000)),
    ]);
  } catch (error) {
    await Promise.allSettled([queues.plain.close(), queues.traced.close()]);
    return { skipped: (error as Error).message };
  }
  let done: (() => void) | undefined;
  let left = 0;
  const worker = (name: string, handle: (job: Job<{ i: number }>) => Promise<unknown>): Worker =>
    new Worker<{ i: number }>(name, handle, { connection, concurrency: 1 }).on('completed', () => {
      if (--left === 0) done?.();
    });
  const workers = [
    worker(`${QUEUE}-plain`, (job) => untracedProcess.call(plainProcessor, job)),
    worker(`${QUEUE}-traced`, (job) => tracedProcess.call(tracedProcessor, job)),
  ];
  const run =
    (queue: Queue): Unit =>
    async (n) => {
      left = n;
      const finished = new Promise<void>((resolve) => (done = resolve));
      await queue.addBulk(Array.from({ length: n }, (_, i) => ({ name: 'settle', data: { i } })));
      await finished;
    };
  try {
    return pair(await alternate(10, run(queues.plain), run(queues.traced), 200, 'job'), sink);
  } finally {
    await Promise.allSettled(workers.map((w) => w.close()));
    await Promise.allSettled([queues.plain.obliterate({ force: true }), queues.traced.obliterate({ force: true })]);
    await Promise.allSettled([queues.plain.close(), queues.traced.close()]);
  }
}

section(async (): Promise<BackgroundResult> => ({ tick: await ticks(), job: await jobs() }));
