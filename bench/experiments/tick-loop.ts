// Profiling helper (not part of `npm run bench`), issue 16's row: an `@Interval` tick whose body is the HTTP app's
// ten service methods, wrapped as TraceModule's `cron` entry point wraps it (a trace of its own per tick), against the
// same tick untraced; the two alternate in short rounds and it prints the median CPU per tick of each and their ratio.
//   for n in node .node22/node_modules/.bin/node .node24/node_modules/.bin/node; do
//     taskset -c 1 $n bench/dist/bench/experiments/tick-loop.js; done
import 'reflect-metadata';
import { Interval } from '@nestjs/schedule';
import type { ActiveTrace, TraceSink } from '../../src/context/active-trace.js';
import { traceMethod } from '../../src/decorators/traced-method.js';
import { Trace } from '../../src/index.js';
import { cronEntryPoint } from '../../src/entry/cron.entry.js';
import { InventoryRepository, OrdersService, PricingService, decorateServices } from '../http/services.js';
import { median } from '../lib/stats.js';

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

type Tick = (i: number) => Promise<unknown>;

class GameLoop {
  constructor(private readonly orders: OrdersService) {}
  @Interval(16)
  tick(i: number): Promise<unknown> {
    return this.orders.handle(i, 0);
  }
}

// The untraced tick: the same bodies from a second instance of the services module (another URL is another module,
// with classes of its own that `@Trace` below never touches).
const untraced = (await import(
  new URL('../http/services.js?untraced', import.meta.url).href
)) as typeof import('../http/services.js');
const untracedTick = GameLoop.prototype.tick;
const plainLoop = new GameLoop(
  new untraced.OrdersService(new untraced.InventoryRepository(), new untraced.PricingService()),
);

// The traced tick: `@Trace` on the ten methods, the tick wrapped with the cron entry point's root spec.
decorateServices((target, key, descriptor) => {
  Trace()(target, key, descriptor);
});
const sink = new CountingSink();
const root = cronEntryPoint().rootFor({ type: GameLoop, name: 'tick', fn: untracedTick } as never, () => sink);
if (root === undefined) throw new Error('the cron entry point did not take the @Interval method');
const tracedTick = traceMethod(untracedTick as never, 'tick', { root }) as unknown as Tick;
const tracedLoop = new GameLoop(new OrdersService(new InventoryRepository(), new PricingService()));

const TICKS = Number(process.env.N ?? 2000);
async function round(loop: GameLoop, tick: Tick): Promise<number> {
  const start = process.cpuUsage();
  for (let i = 0; i < TICKS; i++) await tick.call(loop, i);
  const used = process.cpuUsage(start);
  return (used.user + used.system) / TICKS;
}

async function main(): Promise<void> {
  const plain: number[] = [];
  const traced: number[] = [];
  for (let r = 0; r < Number(process.env.ROUNDS ?? 40); r++) {
    // Alternated, the order swapped every round; the first four rounds warm up.
    const order = r % 2 === 0 ? (['plain', 'traced'] as const) : (['traced', 'plain'] as const);
    for (const which of order) {
      const us = which === 'plain' ? await round(plainLoop, untracedTick) : await round(tracedLoop, tracedTick);
      if (r >= 4) (which === 'plain' ? plain : traced).push(us);
    }
  }
  const ratios = traced.map((t, i) => t / (plain[i] ?? Number.NaN));
  console.log(
    `${process.version} @Interval tick of 10 methods: untraced ${median(plain).toFixed(2)} µs, traced ${median(traced).toFixed(2)} µs CPU per tick (${median(ratios).toFixed(2)} ×); ${sink.traces} traces, ${(sink.spans / Math.max(1, sink.traces)).toFixed(0)} spans each`,
  );
}
void main();
