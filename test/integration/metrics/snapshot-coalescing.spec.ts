import { jest } from '@jest/globals';
import { performance } from 'node:perf_hooks';
import type { TestingModule } from '@nestjs/testing';
import { DataSource } from 'typeorm';
import { Redis } from 'ioredis';
import { SNAPSHOT_REUSE_MS, SystemMetricsService } from '../../../src/metrics/system-metrics.service.js';
import type { MysqlMetrics, RedisMetrics, SystemMetrics } from '../../../src/trace.types.js';
import { MYSQL_URL } from './helpers/env.js';
import { createMetricsApp } from './helpers/metrics-app.js';
import { OwnRedisServer } from './helpers/redis-server.js';
import { ok, sleep } from './helpers/snapshots.js';

/** `Com_show_status` counts every SHOW STATUS on the (shared) server, ours included. */
async function comShowStatus(dataSource: DataSource): Promise<number> {
  const [row] = await dataSource.query<[{ Value: string }]>("SHOW GLOBAL STATUS LIKE 'Com_show_status'");
  return Number(row.Value);
}

/** INFO calls so far on the private server (the INFO commandstats asking is counted by the next ask). */
async function infoCalls(admin: Redis): Promise<number> {
  const text = await admin.info('commandstats');
  return Number(/cmdstat_info:calls=(\d+)/.exec(text)?.[1] ?? 0);
}

describe('snapshot coalescing: many slow calls at once cost a handful of SHOW STATUS / INFO round trips', () => {
  let redisServer: OwnRedisServer;
  let admin: Redis;
  let app: TestingModule;
  let service: SystemMetricsService;
  let dataSource: DataSource;
  let statusQueries: jest.Mock;

  beforeAll(async () => {
    redisServer = await OwnRedisServer.start();
    admin = new Redis(redisServer.port, '127.0.0.1');
    app = await createMetricsApp({ typeorm: { url: MYSQL_URL }, redis: { url: redisServer.url } });
    service = app.get(SystemMetricsService);
    dataSource = app.get(DataSource);
    // Exact count on the client side: SHOW GLOBAL STATUS statements sent through the driver's mysql2 module.
    const mysql2 = (
      dataSource.driver as unknown as {
        mysql: { Connection: { prototype: { query: (...args: unknown[]) => unknown } } };
      }
    ).mysql;
    const original = mysql2.Connection.prototype.query;
    statusQueries = jest.fn();
    jest.spyOn(mysql2.Connection.prototype, 'query').mockImplementation(function (this: unknown, ...args: unknown[]) {
      if (typeof args[0] === 'string' && args[0].startsWith('SHOW GLOBAL STATUS WHERE')) statusQueries();
      return original.apply(this, args);
    });
    // Warm up: the probes' own connections are open.
    ok<MysqlMetrics>((await service.snapshot()).mysql);
    await sleep(SNAPSHOT_REUSE_MS + 20);
  });
  afterAll(async () => {
    jest.restoreAllMocks();
    await app.close();
    admin.disconnect();
    await redisServer.stop();
  });

  it('100 concurrent snapshot() calls share one snapshot: 1 SHOW GLOBAL STATUS, 1 INFO', async () => {
    const showBefore = await comShowStatus(dataSource);
    const infoBefore = await infoCalls(admin);
    statusQueries.mockClear();
    const started = performance.now();
    const all = await Promise.all(Array.from({ length: 100 }, () => service.snapshot()));
    const ms = performance.now() - started;
    const showDelta = (await comShowStatus(dataSource)) - showBefore - 1;
    const infoDelta = (await infoCalls(admin)) - infoBefore - 1;

    expect(new Set(all).size).toBe(1);
    ok<MysqlMetrics>((all[0] as SystemMetrics).mysql);
    ok<RedisMetrics>((all[0] as SystemMetrics).redis);
    expect(statusQueries).toHaveBeenCalledTimes(1);
    expect(infoDelta).toBe(1);
    // Server-wide counter: other clients of the shared MariaDB may add a few of their own.
    expect(showDelta).toBeGreaterThanOrEqual(1);
    expect(showDelta).toBeLessThanOrEqual(5);
    expect(ms).toBeLessThan(1000);
  });

  it('100 calls spread over 1.5 s reuse snapshots younger than the reuse window: at most a handful of round trips', async () => {
    await sleep(SNAPSHOT_REUSE_MS + 20);
    const infoBefore = await infoCalls(admin);
    statusQueries.mockClear();
    const results: Promise<SystemMetrics>[] = [];
    for (let i = 0; i < 100; i += 1) {
      results.push(service.snapshot());
      await sleep(15);
    }
    const all = await Promise.all(results);
    const infoDelta = (await infoCalls(admin)) - infoBefore - 1;
    const distinct = new Set(all).size;
    // ≈ 1.5 s / 0.5 s windows (+ timer slack on a busy machine).
    expect(distinct).toBeGreaterThanOrEqual(2);
    expect(distinct).toBeLessThanOrEqual(6);
    expect(statusQueries).toHaveBeenCalledTimes(distinct);
    expect(infoDelta).toBe(distinct);
    // Each reused snapshot was at most one reuse window old when handed out.
    const takenAt = [...new Set(all)].map((metrics) => Date.parse(metrics.takenAt));
    for (let i = 1; i < takenAt.length; i += 1)
      expect((takenAt[i] as number) - (takenAt[i - 1] as number)).toBeGreaterThanOrEqual(SNAPSHOT_REUSE_MS - 5);
  });
});
