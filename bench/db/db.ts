import 'reflect-metadata';
import { performance } from 'node:perf_hooks';
import { Redis } from 'ioredis';
import { createPool } from 'mysql2/promise';
import { DataSource } from 'typeorm';
import { TraceContext } from '../../src/context/trace-context.js';
import { defaultSink } from '../../src/context/default-sink.js';
import type { ActiveTrace, TraceSink } from '../../src/context/active-trace.js';
import { progress, section } from '../lib/child.js';
import { mariadbOptions, postgresOptions } from '../lib/databases.js';
import { median } from '../lib/stats.js';

export interface DbResult {
  rounds: number;
  /** task → µs per round trip, median over rounds. */
  us: Record<string, number>;
  perRound: Record<string, number[]>;
  /** The budgets' pairs, bare (outside a trace) against traced, strictly alternated (see `alternate`). */
  pairs: Record<string, { ratios: number[]; bareUs: number; tracedUs: number }>;
  /** Span counts seen in one traced batch (proves the instrumentation recorded). */
  checks: Record<string, string>;
  skipped?: string;
}

// 16: a round trip here varies 3× with the VM's load; the budget is a median of same-round ratios.
// Calls per variant per round, interleaved call by call.
const ROUNDS = Number(process.env.BENCH_DB_ROUNDS ?? 16);
const CALLS = 100;
const HOST = process.env.BENCH_DB_HOST ?? '127.0.0.1';

class BenchSink implements TraceSink {
  readonly maxSpans = 10_000;
  /** Spans below the root, over the traces finished since the last reset. */
  spans = 0;
  opened(): void {}
  finished(context: ActiveTrace): void {
    this.spans += context.count - 1;
  }
}

/** Fisher–Yates with a fixed-seed generator, so runs are comparable. */
let seed = 1;
function shuffle(items: number[]): void {
  for (let i = items.length - 1; i > 0; i--) {
    seed = (seed * 1103515245 + 12345) % 2147483648;
    const j = seed % (i + 1);
    [items[i], items[j]] = [items[j] as number, items[i] as number];
  }
}

const PAIR_ROUNDS = 20;
const PAIR_CALLS = 200;

/**
 * A budget's pair on its own: the bare call (outside any trace, nothing instrumented) and the traced one (in a trace
 * of its own, instrumented), strictly alternated call by call (A B, B A, A B …), two clients swapping the roles every
 * round. In the shuffled table above, a few µs move between variants from run to run (with only these two variants
 * left in it, the difference even changed sign); this alternation gives the same ratio to ±0.5 % run after run.
 * Returns the per-round ratios of medians and the overall medians in µs.
 */
async function alternate(
  call: (index: 0 | 1) => Promise<unknown>,
  install: (index: 0 | 1) => () => void,
): Promise<DbResult['pairs'][string]> {
  const ratios: number[] = [];
  const all: [number[], number[]] = [[], []];
  for (let round = -1; round < PAIR_ROUNDS; round++) {
    const traced: 0 | 1 = (round & 1) === 1 ? 1 : 0;
    const bare: 0 | 1 = traced === 1 ? 0 : 1;
    const uninstall = install(traced);
    const times: [number[], number[]] = [[], []];
    for (let i = 0; i < PAIR_CALLS; i++) {
      for (const which of (i & 1) === 1 ? [0, 1] : [1, 0]) {
        const start = performance.now();
        if (which === 1) await TraceContext.run('request', () => call(traced));
        else await call(bare);
        times[which]?.push((performance.now() - start) * 1000);
      }
    }
    uninstall();
    if (round < 0) continue; // warm-up
    ratios.push(median(times[1]) / median(times[0]));
    all[0].push(...times[0]);
    all[1].push(...times[1]);
  }
  return { ratios, bareUs: median(all[0]), tracedUs: median(all[1]) };
}

section(async (): Promise<DbResult> => {
  // Loaded here, not at the top: the instrumentation is new; a missing or broken module skips this section only.
  let instrumentDataSource: (dataSource: object) => () => void;
  let instrumentRedis: (client: object, options: { keys: boolean }) => () => void;
  try {
    ({ instrumentDataSource } = await import('../../src/instrumentation/typeorm.instrumentation.js'));
    ({ instrumentRedis } = await import('../../src/instrumentation/ioredis.instrumentation.js'));
  } catch (error) {
    return {
      rounds: 0,
      us: {},
      perRound: {},
      pairs: {},
      checks: {},
      skipped: `instrumentation not loadable: ${(error as Error).message}`,
    };
  }
  const sink = new BenchSink();
  defaultSink.current = sink;
  const mysqlOptions = mariadbOptions(HOST);
  // Two of each, and they swap roles every round: the instrumented one one round, the bare one the next, so a
  // difference between their connections (seen here: several µs, steady within a run) is not counted as the span's.
  const sources = [new DataSource(mysqlOptions), new DataSource(mysqlOptions)] as const;
  const redises = [
    new Redis({ host: HOST, port: 6379, lazyConnect: false }),
    new Redis({ host: HOST, port: 6379, lazyConnect: false }),
  ] as const;
  const pool = createPool({ host: HOST, port: 3306, user: 'root', database: 'test', connectionLimit: 2 });
  let bareSource: DataSource = sources[0];
  let tracedSource: DataSource = sources[1];
  let bareRedis: Redis = redises[0];
  let tracedRedis: Redis = redises[1];
  try {
    await Promise.all(sources.map((source) => source.initialize()));
    await bareRedis.set('bench:key', 'value');
    // Every call is timed on its own and the variants take turns call by call, in a shuffled order, so a slow
    // stretch of the VM hits all of them alike; a round's value is the median of its calls.
    type Runner = <T>(fn: () => T) => T;
    const outside: Runner = (fn) => fn();
    const tasks: Array<{ name: string; traced: boolean; call: () => Promise<unknown> }> = [
      { name: 'mysql2 pool.query', traced: false, call: () => pool.query('SELECT 1') },
      { name: 'typeorm query', traced: false, call: () => bareSource.query('SELECT 1') },
      { name: 'typeorm query, in a trace, not instrumented', traced: true, call: () => bareSource.query('SELECT 1') },
      { name: 'typeorm query, traced', traced: true, call: () => tracedSource.query('SELECT 1') },
      { name: 'ioredis GET', traced: false, call: () => bareRedis.get('bench:key') },
      { name: 'ioredis GET, in a trace, not instrumented', traced: true, call: () => bareRedis.get('bench:key') },
      { name: 'ioredis GET, traced', traced: true, call: () => tracedRedis.get('bench:key') },
    ];
    const checks: Record<string, string> = {};
    const perRound: Record<string, number[]> = Object.fromEntries(tasks.map((t) => [t.name, []]));
    for (let round = -1; round < ROUNDS; round++) {
      // Round -1 warms up and checks that the traced variants really record one span per call.
      const calls = round < 0 ? 20 : CALLS;
      const swap = (round & 1) === 1;
      [bareSource, tracedSource] = swap ? [sources[1], sources[0]] : sources;
      [bareRedis, tracedRedis] = swap ? [redises[1], redises[0]] : redises;
      const uninstall = [instrumentDataSource(tracedSource), instrumentRedis(tracedRedis, { keys: true })];
      sink.spans = 0;
      const latencies = tasks.map((): number[] => []);
      // The variants "in a trace" run each call in a trace of its own, as a request with one query would.
      const inTrace: Runner = (fn) => TraceContext.run('request', fn);
      const order = tasks.map((_, index) => index);
      for (let i = 0; i < calls; i++) {
        shuffle(order); // so no variant always follows the same one (a Redis call after a MySQL one is slower)
        for (const index of order) {
          const task = tasks[index] as (typeof tasks)[number];
          const run = task.traced ? inTrace : outside;
          const start = performance.now();
          await run(task.call);
          latencies[index]?.push(performance.now() - start);
        }
      }
      for (const undo of uninstall) undo();
      if (round < 0) {
        const traced = tasks.filter((t) => t.name.endsWith('traced')).length;
        checks['traced calls'] = `${sink.spans} spans recorded for ${calls * traced} traced calls`;
        if (sink.spans !== calls * traced) throw new Error(`db: expected ${calls * traced} spans, got ${sink.spans}`);
        continue;
      }
      tasks.forEach((task, index) => perRound[task.name]?.push(median(latencies[index] ?? []) * 1000));
      progress(`db round ${round + 1}/${ROUNDS}`);
    }
    const pairs = {
      sql: await alternate(
        (index) => sources[index].query('SELECT 1'),
        (index) => instrumentDataSource(sources[index]),
      ),
      redis: await alternate(
        (index) => redises[index].get('bench:key'),
        (index) => instrumentRedis(redises[index], { keys: true }),
      ),
      ...(await postgresPair(instrumentDataSource)),
    };
    progress('db done');
    const us = Object.fromEntries(Object.entries(perRound).map(([name, values]) => [name, median(values)]));
    return { rounds: ROUNDS, us, perRound, pairs, checks };
  } finally {
    for (const redis of redises) redis.disconnect();
    await pool.end();
    await Promise.allSettled(sources.map((source) => source.destroy()));
  }
});

/** The same pair on PostgreSQL (TypeORM on `pg`, pool of 2); none when the server cannot be reached. */
async function postgresPair(
  instrumentDataSource: (dataSource: object) => () => void,
): Promise<Partial<DbResult['pairs']>> {
  // The pair runs when the server answers (`.ci/run` creates the role and database); skipped otherwise.
  const options = postgresOptions();
  const sources = [new DataSource(options), new DataSource(options)] as const;
  try {
    await Promise.all(sources.map((source) => source.initialize()));
  } catch (error) {
    progress(`db: PostgreSQL pair skipped (${(error as Error).message})`);
    await Promise.allSettled(sources.map((source) => source.destroy()));
    return {};
  }
  try {
    return {
      pg: await alternate(
        (index) => sources[index].query('SELECT 1'),
        (index) => instrumentDataSource(sources[index]),
      ),
    };
  } finally {
    await Promise.allSettled(sources.map((source) => source.destroy()));
  }
}
