import { Inject, Injectable } from '@nestjs/common';
import type { TestingModule } from '@nestjs/testing';
import { DataSource } from 'typeorm';
import type { Redis } from 'ioredis';
import { AppConnections } from '../../../src/connections/app-connections.service.js';
import { SystemMetricsService } from '../../../src/metrics/system-metrics.service.js';
import type { MysqlMetrics } from '../../../src/trace.types.js';
import { MYSQL_URL, REDIS_URL } from './helpers/env.js';
import { createMetricsApp, NESTJS_IOREDIS_TOKEN } from './helpers/metrics-app.js';
import { ok } from './helpers/snapshots.js';

describe("AppConnections: the app's own DataSource and ioredis client, found through DI", () => {
  let app: TestingModule | undefined;

  afterEach(async () => {
    await app?.close();
    app = undefined;
  });

  it('auto-detects the default TypeORM DataSource and the @nestjs-modules/ioredis default connection', async () => {
    app = await createMetricsApp({ typeorm: { url: MYSQL_URL }, redis: { url: REDIS_URL } });
    const connections = app.get(AppConnections);
    expect(connections.dataSource).toBe(app.get(DataSource));
    expect(connections.redis).toBe(app.get(NESTJS_IOREDIS_TOKEN));
    const metrics = await app.get(SystemMetricsService).snapshot();
    ok<MysqlMetrics>(metrics.mysql);
    expect(metrics.redis).not.toBeNull();
  });

  it('finds nothing in an app without TypeORM and Redis: both sections null', async () => {
    app = await createMetricsApp({ typeorm: false, redis: false });
    const connections = app.get(AppConnections);
    expect(connections.dataSource).toBeNull();
    expect(connections.redis).toBeNull();
    const metrics = await app.get(SystemMetricsService).snapshot();
    expect(metrics.mysql).toBeNull();
    expect(metrics.redis).toBeNull();
  });

  it('`false` turns a connection off even when the app has it', async () => {
    app = await createMetricsApp({
      typeorm: { url: MYSQL_URL },
      redis: { url: REDIS_URL },
      trace: { dataSource: false, redis: false },
    });
    expect(app.get(AppConnections).dataSource).toBeNull();
    expect(app.get(AppConnections).redis).toBeNull();
    const metrics = await app.get(SystemMetricsService).snapshot();
    expect(metrics.mysql).toBeNull();
    expect(metrics.redis).toBeNull();
  });

  it('uses an explicit token', async () => {
    const CACHE = 'CACHE_REDIS';
    app = await createMetricsApp({
      typeorm: { url: MYSQL_URL },
      redis: { url: REDIS_URL },
      trace: { redis: CACHE, dataSource: DataSource },
      providers: [{ provide: CACHE, useExisting: NESTJS_IOREDIS_TOKEN }],
    });
    expect(app.get(AppConnections).redis).toBe(app.get<Redis>(NESTJS_IOREDIS_TOKEN));
    expect(app.get(AppConnections).dataSource).toBe(app.get(DataSource));
  });

  it('fails at bootstrap, naming the option, when an explicit token is not in the app', async () => {
    await expect(createMetricsApp({ typeorm: false, redis: false, trace: { redis: 'NO_SUCH_REDIS' } })).rejects.toThrow(
      'nestjs-trace: option "redis" names a provider that is not in the app (token "NO_SUCH_REDIS")',
    );
    await expect(
      createMetricsApp({ typeorm: false, redis: false, trace: { dataSource: 'NO_SUCH_DS' } }),
    ).rejects.toThrow(/option "dataSource"/);
  });

  it('fails at bootstrap when an explicit token names something else', async () => {
    await expect(
      createMetricsApp({
        typeorm: false,
        redis: false,
        trace: { dataSource: 'CONFIG' },
        providers: [{ provide: 'CONFIG', useValue: { host: 'x' } }],
      }),
    ).rejects.toThrow(
      'nestjs-trace: option "dataSource" names a provider that is not a TypeORM DataSource (token "CONFIG")',
    );
  });

  it('exposes a non-MySQL DataSource, and the MySQL section is null for it', async () => {
    app = await createMetricsApp({ typeorm: { type: 'better-sqlite3', database: ':memory:' }, redis: false });
    const connections = app.get(AppConnections);
    expect(connections.dataSource).toBe(app.get(DataSource));
    expect(connections.dataSource?.options.type).toBe('better-sqlite3');
    expect((await app.get(SystemMetricsService).snapshot()).mysql).toBeNull();
  });

  it("is filled before any other provider's onModuleInit can need it (resolve() is idempotent)", async () => {
    @Injectable()
    class EarlyUser {
      seen: unknown = 'not run';
      constructor(@Inject(AppConnections) private readonly connections: AppConnections) {}
      onModuleInit(): void {
        this.connections.resolve();
        this.seen = this.connections.dataSource;
      }
    }
    app = await createMetricsApp({ typeorm: { url: MYSQL_URL }, redis: false, providers: [EarlyUser] });
    expect(app.get(EarlyUser).seen).toBe(app.get(DataSource));
  });
});
