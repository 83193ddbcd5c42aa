import 'reflect-metadata';
import { Bench } from 'tinybench';
import { Redis } from 'ioredis';
import { createPool } from 'mysql2/promise';
import { DataSource } from 'typeorm';
import { TraceContext, defaultSink } from '../../src/context/trace-context.js';
import type { TraceSink } from '../../src/context/trace-context.js';
import { progress, section } from '../lib/child.js';
import { median } from '../lib/stats.js';

export interface DbResult {
  rounds: number;
  /** task → µs per round trip, median over rounds. */
  us: Record<string, number>;
  perRound: Record<string, number[]>;
  /** Span counts seen in one traced batch (proves the instrumentation recorded). */
  checks: Record<string, string>;
  skipped?: string;
}

// 16: a round trip here varies 3× with the VM's load; the budget is a median of same-round ratios.
const ROUNDS = Number(process.env.BENCH_DB_ROUNDS ?? 16);
const CALLS = 50;
const HOST = process.env.BENCH_DB_HOST ?? '127.0.0.1';

class BenchSink implements TraceSink {
  readonly maxSpans = 10_000;
  last: TraceContext | undefined;
  opened(): void {}
  finished(context: TraceContext): void {
    this.last = context;
  }
}

section(async (): Promise<DbResult> => {
  // Loaded here, not at the top: the instrumentation is new; a missing or broken module skips this section only.
  let instrumentDataSource: (dataSource: object) => () => void;
  let instrumentRedis: (client: object, options: { keys: boolean }) => () => void;
  try {
    ({ instrumentDataSource } = await import('../../src/instrumentation/typeorm.instrumentation.js'));
    ({ instrumentRedis } = await import('../../src/instrumentation/ioredis.instrumentation.js'));
  } catch (error) {
    return { rounds: 0, us: {}, perRound: {}, checks: {}, skipped: `instrumentation not loadable: ${(error as Error).message}` };
  }
  const sink = new BenchSink();
  defaultSink.current = sink;
  const mysqlOptions = { type: 'mariadb' as const, host: HOST, port: 3306, username: 'root', password: '', database: 'test', poolSize: 2 };
  const bareSource = new DataSource(mysqlOptions);
  const tracedSource = new DataSource(mysqlOptions);
  const pool = createPool({ host: HOST, port: 3306, user: 'root', database: 'test', connectionLimit: 2 });
  const bareRedis = new Redis({ host: HOST, port: 6379, lazyConnect: false });
  const tracedRedis = new Redis({ host: HOST, port: 6379, lazyConnect: false });
  try {
    await Promise.all([bareSource.initialize(), tracedSource.initialize()]);
    await bareRedis.set('bench:key', 'value');
    const uninstall = [instrumentDataSource(tracedSource), instrumentRedis(tracedRedis, { keys: true })];
    const loop = async (call: () => Promise<unknown>): Promise<void> => {
      for (let i = 0; i < CALLS; i++) await call();
    };
    const tasks: Array<{ name: string; fn: () => Promise<unknown> }> = [
      { name: 'mysql2 pool.query', fn: () => loop(() => pool.query('SELECT 1')) },
      { name: 'typeorm query', fn: () => loop(() => bareSource.query('SELECT 1')) },
      { name: 'typeorm query, in a trace, not instrumented', fn: () => TraceContext.run('batch', () => loop(() => bareSource.query('SELECT 1'))) },
      { name: 'typeorm query, traced', fn: () => TraceContext.run('batch', () => loop(() => tracedSource.query('SELECT 1'))) },
      { name: 'ioredis GET', fn: () => loop(() => bareRedis.get('bench:key')) },
      { name: 'ioredis GET, in a trace, not instrumented', fn: () => TraceContext.run('batch', () => loop(() => bareRedis.get('bench:key'))) },
      { name: 'ioredis GET, traced', fn: () => TraceContext.run('batch', () => loop(() => tracedRedis.get('bench:key'))) },
    ];
    const checks: Record<string, string> = {};
    for (const task of tasks.filter((t) => t.name.endsWith('traced'))) {
      sink.last = undefined;
      await task.fn();
      checks[task.name] = `${(sink.last as TraceContext | undefined)?.count ?? 0} spans in a batch of ${CALLS} (root included)`;
    }
    const perRound: Record<string, number[]> = Object.fromEntries(tasks.map((t) => [t.name, []]));
    for (let round = 0; round < ROUNDS; round++) {
      const shift = round % tasks.length;
      const bench = new Bench({ time: 150, warmupTime: 30, iterations: 3, throws: true });
      for (const task of [...tasks.slice(shift), ...tasks.slice(0, shift)]) bench.add(task.name, task.fn);
      await bench.run();
      for (const task of bench.tasks) {
        const result = task.result;
        perRound[task.name]?.push(result.state === 'completed' ? (result.latency.p50 * 1000) / CALLS : Number.NaN);
      }
    }
    for (const undo of uninstall) undo();
    progress('db done');
    const us = Object.fromEntries(Object.entries(perRound).map(([name, values]) => [name, median(values)]));
    return { rounds: ROUNDS, us, perRound, checks };
  } finally {
    bareRedis.disconnect();
    tracedRedis.disconnect();
    await pool.end();
    await Promise.allSettled([bareSource.destroy(), tracedSource.destroy()]);
  }
});
