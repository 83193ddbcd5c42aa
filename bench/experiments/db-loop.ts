// Profiling helper (not part of `npm run bench`): sequential Redis GETs or TypeORM `SELECT 1`s, each in a trace of
// its own, with the instrumentation (`trace`), without it (`bare`), or installed but called outside a trace
// (`outside`); prints wall and process CPU per call. `N` calls per round.
//   N=20000 taskset -c 1 node --cpu-prof bench/dist/bench/experiments/db-loop.js redis trace
import 'reflect-metadata';
import { performance } from 'node:perf_hooks';
import { Redis } from 'ioredis';
import { DataSource } from 'typeorm';
import { TraceContext, defaultSink } from '../../src/context/trace-context.js';
import { instrumentRedis } from '../../src/instrumentation/ioredis.instrumentation.js';
import { instrumentDataSource } from '../../src/instrumentation/typeorm.instrumentation.js';

defaultSink.current = { maxSpans: 100_000, opened() {}, finished() {} };
const which = process.argv[2] ?? 'redis';
const traced = process.argv[3] === 'trace' || process.argv[3] === 'outside';
const outside = process.argv[3] === 'outside';
async function main(): Promise<void> {
  const redis = new Redis({ host: '127.0.0.1', port: 6379 });
  const source = new DataSource({ type: 'mariadb', host: '127.0.0.1', port: 3306, username: 'root', password: '', database: 'test', poolSize: 2 });
  await source.initialize();
  if (traced) {
    instrumentRedis(redis, { keys: true });
    instrumentDataSource(source);
  }
  const call = which === 'redis' ? () => redis.get('bench:key') : () => source.query('SELECT 1');
  for (let round = 0; round < 6; round++) {
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    const n = Number(process.env.N ?? 5000);
    if (outside) for (let i = 0; i < n; i++) await call();
    else
      for (let i = 0; i < n; i++) await TraceContext.run('request', call);
    const cpu = process.cpuUsage(cpu0);
    if (round >= 2) console.log(which, process.argv[3], `${(((performance.now() - t0) * 1000) / n).toFixed(1)} µs wall, ${((cpu.user + cpu.system) / n).toFixed(1)} µs CPU per call`);
  }
  redis.disconnect();
  await source.destroy();
}
void main();
