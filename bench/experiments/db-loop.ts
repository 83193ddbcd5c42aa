// Profiling helper (not part of `npm run bench`): sequential Redis GETs or TypeORM `SELECT 1`s (`sql` on MariaDB, `pg`
// on PostgreSQL), each in a trace of its own, with the instrumentation (`trace`), without it (`bare`), or installed but
// called outside a trace (`outside`); prints wall and process CPU per call. `N` calls per round, `ROUNDS` rounds (the
// first two are warm-up). Under callgrind, instructions per call (the same with ROUNDS=2 subtracted, over N × 4 rounds
// by default) do not move with the machine's load:
//   N=20000 taskset -c 1 node --cpu-prof bench/dist/bench/experiments/db-loop.js redis trace
//   N=2000 valgrind --tool=callgrind --callgrind-out-file=/dev/null node bench/dist/bench/experiments/db-loop.js pg trace
import 'reflect-metadata';
import { performance } from 'node:perf_hooks';
import { Redis } from 'ioredis';
import { DataSource } from 'typeorm';
import { TraceContext } from '../../src/context/trace-context.js';
import { defaultSink } from '../../src/context/default-sink.js';
import { instrumentRedis } from '../../src/instrumentation/ioredis.instrumentation.js';
import { instrumentDataSource } from '../../src/instrumentation/typeorm.instrumentation.js';
import { mariadbOptions, postgresOptions } from '../lib/databases.js';

defaultSink.current = { maxSpans: 100_000, opened() {}, finished() {} };
const which = process.argv[2] ?? 'redis';
const traced = process.argv[3] === 'trace' || process.argv[3] === 'outside';
const outside = process.argv[3] === 'outside';
/**
 * `ab`: two clients (or DataSources) in one process, one instrumented; batches of `C` concurrent calls (each in a trace
 * of its own) alternate between them; prints the median per-call time of each. With C = 1 this is the sequential
 * ping-pong of `npm run bench`; with C = 16 the process is busy all the time, so the per-call time is its CPU.
 */
async function ab(): Promise<void> {
  const concurrency = Number(process.env.C ?? 1);
  const redises = [new Redis({ host: '127.0.0.1', port: 6379 }), new Redis({ host: '127.0.0.1', port: 6379 })];
  const options = mariadbOptions('127.0.0.1', 4);
  const sources = [new DataSource(options), new DataSource(options)];
  await Promise.all(sources.map((source) => source.initialize()));
  const times: [number[], number[]] = [[], []];
  for (let round = 0; round < 20; round++) {
    const tracedIndex = round & 1; // the two swap roles every round
    const undo =
      process.env.OWNPROPS === '1'
        ? [ownProps(sources[tracedIndex] as DataSource)]
        : [
            instrumentRedis(redises[tracedIndex] as object, { keys: true }),
            instrumentDataSource(sources[tracedIndex] as object),
          ];
    for (let batch = 0; batch < 200; batch++) {
      for (const index of batch & 1 ? [0, 1] : [1, 0]) {
        const call =
          which === 'redis'
            ? () => (redises[index] as Redis).get('bench:key')
            : () => (sources[index] as DataSource).query('SELECT 1');
        const start = performance.now();
        if (concurrency === 1 && process.env.DIRECT) await TraceContext.run('request', call);
        else await Promise.all(Array.from({ length: concurrency }, () => TraceContext.run('request', call)));
        if (round >= 2) times[index === tracedIndex ? 1 : 0].push(((performance.now() - start) * 1000) / concurrency);
      }
    }
    for (const u of undo) u();
  }
  const med = (list: number[]): number => [...list].sort((a, b) => a - b)[list.length >> 1] ?? Number.NaN;
  console.log(
    `${which} C=${concurrency}: not instrumented ${med(times[0]).toFixed(2)} µs, traced ${med(times[1]).toFixed(2)} µs per call, ratio ${(med(times[1]) / med(times[0])).toFixed(3)}`,
  );
  for (const redis of redises) redis.disconnect();
  await Promise.all(sources.map((source) => source.destroy()));
}

/** `OWNPROPS=1`: no tracing, only five pass-through own methods put on every query runner (what instrumentRunner does). */
function ownProps(source: DataSource): () => void {
  const driver = source.driver as unknown as { createQueryRunner: (...a: unknown[]) => Record<string, unknown> };
  const create = driver.createQueryRunner;
  let derived: object | undefined;
  driver.createQueryRunner = function (this: unknown, ...a: unknown[]) {
    const runner = create.apply(this, a);
    if (process.env.SETPROTO === '1') {
      // One prototype per source with the five pass-through wrappers, put under each runner.
      if (derived === undefined) {
        const base = Object.getPrototypeOf(runner) as Record<string, (...x: unknown[]) => unknown>;
        const proto = Object.create(base) as Record<string, unknown>;
        for (const key of ['query', 'stream', 'startTransaction', 'commitTransaction', 'rollbackTransaction']) {
          const original = base[key] as (...x: unknown[]) => unknown;
          proto[key] = function (this: unknown, ...x: unknown[]) {
            return original.apply(this, x);
          };
        }
        derived = proto;
      }
      Object.setPrototypeOf(runner, derived);
      return runner;
    }
    for (const key of ['query', 'stream', 'startTransaction', 'commitTransaction', 'rollbackTransaction']) {
      const original = runner[key] as (...x: unknown[]) => unknown;
      runner[key] = function (this: unknown, ...x: unknown[]) {
        return original.apply(this, x);
      };
    }
    return runner;
  };
  return () => {
    driver.createQueryRunner = create;
  };
}

async function main(): Promise<void> {
  if (process.argv[3] === 'ab') return ab();
  const redis = new Redis({ host: '127.0.0.1', port: 6379 });
  const source = new DataSource(which === 'pg' ? postgresOptions() : mariadbOptions());
  await source.initialize();
  if (traced) {
    instrumentRedis(redis, { keys: true });
    instrumentDataSource(source);
  }
  const call = which === 'redis' ? () => redis.get('bench:key') : () => source.query('SELECT 1');
  const rounds = Number(process.env.ROUNDS ?? 6);
  for (let round = 0; round < rounds; round++) {
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    const n = Number(process.env.N ?? 5000);
    if (outside) for (let i = 0; i < n; i++) await call();
    else for (let i = 0; i < n; i++) await TraceContext.run('request', call);
    const cpu = process.cpuUsage(cpu0);
    if (round >= 2)
      console.log(
        which,
        process.argv[3],
        `${(((performance.now() - t0) * 1000) / n).toFixed(1)} µs wall, ${((cpu.user + cpu.system) / n).toFixed(1)} µs CPU per call`,
      );
  }
  redis.disconnect();
  await source.destroy();
}
void main();
