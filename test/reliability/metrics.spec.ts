// Metrics under faults: the app's ioredis client on defaults with Redis unreachable, CLIENT LIST never sent, a
// least-privilege MariaDB user, a storm of 500 failing calls, the snapshot off the critical path while Redis is
// paused, no password or URL in snapshots, and hung handlers under the real probes. The shared MariaDB and Redis are never
// paused or stopped: Redis faults use a private redis-server on a free port.
import 'reflect-metadata';
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:net';
import { performance } from 'node:perf_hooks';
import { Controller, Get, Inject, Injectable, InternalServerErrorException, Module } from '@nestjs/common';
import type { INestApplication, OnApplicationShutdown } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { TypeOrmModule } from '@nestjs/typeorm';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Redis } from 'ioredis';
import mysql from 'mysql2/promise';
import { DataSource } from 'typeorm';
import { TraceModule } from '../../src/index.js';
import { SystemMetricsService } from '../../src/metrics/system-metrics.service.js';
import { ReportCapture, sleep } from '../support/report-capture.js';
import { keepIdleSockets } from '../support/keep-idle-sockets.js';

/** Reports reach the test through the library's output seam (`stream`), never through stdout. */
const capture = new ReportCapture();

const MYSQL_ROOT = process.env.MYSQL_URL ?? 'mysql://root@127.0.0.1:3306/test';
const TIMEOUT_MS = 300;
const MARGIN_MS = 400;

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });
}

/** A private redis-server (no persistence) on a free port. */
async function startRedis(): Promise<{ port: number; child: ChildProcess; stop(): Promise<void> }> {
  const port = await freePort();
  const child = spawn(
    'redis-server',
    ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
    { stdio: 'ignore' },
  );
  const deadline = Date.now() + 5000;
  for (;;) {
    const probe = new Redis(port, '127.0.0.1', {
      lazyConnect: true,
      maxRetriesPerRequest: 0,
      retryStrategy: () => null,
    });
    probe.on('error', () => undefined);
    try {
      await probe.connect();
      await probe.ping();
      probe.disconnect();
      break;
    } catch (error) {
      probe.disconnect();
      if (Date.now() > deadline) throw error;
      await sleep(50);
    }
  }
  const stop = (): Promise<void> =>
    new Promise((resolve) => {
      if (child.exitCode !== null) return resolve();
      child.once('exit', () => resolve());
      child.kill('SIGKILL');
    });
  return { port, child, stop };
}

async function commandCalls(admin: Redis, command: string): Promise<number> {
  const stats = await admin.info('commandstats');
  return Number(new RegExp(`cmdstat_${command.replace('|', '\\|')}:calls=(\\d+)`).exec(stats)?.[1] ?? 0);
}

const APP_REDIS = 'RELIABILITY_APP_REDIS';

@Injectable()
class RedisShutdown implements OnApplicationShutdown {
  constructor(@Inject(APP_REDIS) private readonly client: Redis) {}
  onApplicationShutdown(): void {
    if (this.client.status !== 'end') this.client.disconnect();
  }
}

@Controller()
class FaultController {
  constructor(private readonly dataSource: DataSource) {}
  @Get('fail')
  fail(): never {
    throw new InternalServerErrorException('deliberate');
  }
  @Get('slow300')
  async slow(): Promise<{ ok: true }> {
    await sleep(300);
    return { ok: true };
  }
  @Get('stuck')
  async stuck(): Promise<{ ok: true }> {
    await this.dataSource.query('SELECT SLEEP(2)');
    return { ok: true };
  }
}

async function startApp(
  redisPort: number,
  extra: { slowThresholdMs?: number; hungThresholdMs?: number } = {},
): Promise<{ app: INestApplication; url: string }> {
  @Module({
    imports: [
      TypeOrmModule.forRoot({ type: 'mysql', url: MYSQL_ROOT, retryAttempts: 0 }),
      TraceModule.forRoot({
        stream: capture,
        format: 'json',
        redis: APP_REDIS,
        metricsTimeoutMs: TIMEOUT_MS,
        slowThresholdMs: 100,
        hungThresholdMs: 0,
        otel: { enabled: false },
        ...extra,
      }),
    ],
    controllers: [FaultController],
    providers: [
      {
        provide: APP_REDIS,
        useFactory: () => {
          const client = new Redis(redisPort, '127.0.0.1');
          client.on('error', () => undefined);
          return client;
        },
      },
      RedisShutdown,
    ],
  })
  class FaultModule {}
  const app = (await Test.createTestingModule({ imports: [FaultModule] }).compile()).createNestApplication({
    logger: false,
  });
  await app.listen(0, '127.0.0.1');
  keepIdleSockets(app);
  return { app, url: (await app.getUrl()).replace('[::1]', '127.0.0.1') };
}

describe('metrics under fault, with the real probes', () => {
  let redis: Awaited<ReturnType<typeof startRedis>>;
  let redisAdmin: Redis;
  let mysqlAdmin: mysql.Connection;

  beforeAll(async () => {
    redis = await startRedis();
    redisAdmin = new Redis(redis.port, '127.0.0.1');
    mysqlAdmin = await mysql.createConnection(MYSQL_ROOT);
  });
  afterAll(async () => {
    redisAdmin.disconnect();
    await mysqlAdmin.end();
    await redis.stop();
  });

  describe('one app on the real MariaDB and a private Redis', () => {
    let app: INestApplication;
    let url: string;
    beforeAll(async () => ({ app, url } = await startApp(redis.port, { slowThresholdMs: 100, hungThresholdMs: 400 })));
    afterAll(async () => app.close());

    it('snapshots never send CLIENT LIST and never contain addr=', async () => {
      const service = app.get(SystemMetricsService);
      const before = await commandCalls(redisAdmin, 'client|list');
      const infoBefore = await commandCalls(redisAdmin, 'info');
      for (let i = 0; i < 3; i++) {
        await sleep(550);
        const text = JSON.stringify(await service.snapshot());
        expect(text).not.toMatch(/addr=|executable|config_file/);
        expect(text).toContain('connectedClients');
      }
      expect(await commandCalls(redisAdmin, 'client|list')).toBe(before);
      expect((await commandCalls(redisAdmin, 'info')) - infoBefore).toBeGreaterThanOrEqual(3);
    });

    it('500 concurrent failing calls keep their status; SHOW STATUS and INFO are asked only a handful of times', async () => {
      await sleep(600);
      const status = async (): Promise<number> => {
        const [rows] = await mysqlAdmin.query("SHOW GLOBAL STATUS LIKE 'Com_show_status'");
        return Number((rows as Array<{ Value: string }>)[0]?.Value);
      };
      const showBefore = await status();
      const infoBefore = await commandCalls(redisAdmin, 'info');
      capture.clear();
      const started = performance.now();
      const statuses = await Promise.all(
        Array.from({ length: 500 }, () => fetch(`${url}/fail`).then(async (r) => (await r.arrayBuffer(), r.status))),
      );
      expect(statuses.filter((s) => s === 500)).toHaveLength(500);
      await capture.waitFor((r) => r.outcome === 'error', 500, 15_000);
      const seconds = (performance.now() - started) / 1000;
      const showDelta = (await status()) - showBefore - 1; // minus this status query itself
      const infoDelta = (await commandCalls(redisAdmin, 'info')) - infoBefore - 1;
      // One snapshot per 500 ms reuse window at most (the shared MariaDB may see other clients' SHOW STATUS too).
      const handful = Math.ceil(seconds / 0.5) + 3;
      expect(infoDelta).toBeLessThanOrEqual(handful);
      expect(showDelta).toBeLessThanOrEqual(handful + 5);
      for (const record of capture.reports.filter((r) => r.outcome === 'error'))
        expect(record.metrics?.redis).toBeTruthy();
    }, 60_000);

    it('hung: a handler stuck on SELECT SLEEP(2) gets one hung report with the unfinished SQL span while stuck, then its slow report', async () => {
      capture.clear();
      const started = performance.now();
      const response = fetch(`${url}/stuck`);
      const [hung] = await capture.waitFor((r) => r.outcome === 'hung', 1, 3000);
      const hungAt = performance.now() - started;
      expect(hungAt).toBeLessThan(1900); // while SLEEP(2) still runs
      const sql = hung!.spans.find((s) => s.kind === 'db' && s.system === 'mysql');
      expect(sql).toMatchObject({ unfinished: true });
      expect(sql!.statement).toMatch(/SLEEP/i);
      expect(hung!.metrics?.mysql).toBeTruthy();
      expect((await response).status).toBe(200);
      const [slow] = await capture.waitFor((r) => r.outcome === 'slow' && r.traceId === hung!.traceId, 1, 5000);
      expect(slow!.durationMs).toBeGreaterThanOrEqual(1900);
      expect(capture.reports.filter((r) => r.outcome === 'hung' && r.traceId === hung!.traceId)).toHaveLength(1);
    }, 15_000);

    it('a 300 ms handler answers in about 300 ms while the metrics Redis is paused', async () => {
      await sleep(600); // past the reuse window of the previous test's snapshot
      capture.clear();
      await redisAdmin.client('PAUSE', 3000, 'ALL');
      try {
        for (let i = 0; i < 3; i++) {
          const started = performance.now();
          const response = await fetch(`${url}/slow300`);
          expect(response.status).toBe(200);
          expect(performance.now() - started).toBeLessThan(300 + MARGIN_MS);
        }
        const [record] = await capture.waitFor((r) => r.outcome === 'slow' && r.route === 'GET /slow300', 1, 3000);
        expect(record!.metrics?.redis).toMatchObject({ status: 'timeout' });
      } finally {
        await redisAdmin.client('UNPAUSE');
      }
    });
  });

  it('the app client on ioredis defaults with Redis unreachable: snapshot within budget, offline queue untouched', async () => {
    const { app } = await startApp(await freePort());
    try {
      const client = app.get<Redis>(APP_REDIS);
      const offline = (): number => (client as unknown as { offlineQueue: { length: number } }).offlineQueue.length;
      const queued = offline();
      const started = performance.now();
      const metrics = await app.get(SystemMetricsService).snapshot();
      expect(performance.now() - started).toBeLessThan(TIMEOUT_MS + MARGIN_MS);
      expect(metrics.redis).toMatchObject({ status: 'unavailable' });
      expect(offline()).toBe(queued);
    } finally {
      await app.close();
    }
  });

  describe('a least-privilege MariaDB user with a password', () => {
    const user = `nt_rel_${process.pid}`;
    const password = `pw-${randomBytes(9).toString('hex')}`;
    let dataSource: DataSource;
    let app: INestApplication;

    beforeAll(async () => {
      await mysqlAdmin.query(`DROP USER IF EXISTS '${user}'@'127.0.0.1'`);
      await mysqlAdmin.query(`CREATE USER '${user}'@'127.0.0.1' IDENTIFIED BY '${password}'`);
      await mysqlAdmin.query(`GRANT USAGE ON *.* TO '${user}'@'127.0.0.1'`);
      const dsUrl = `mysql://${user}:${password}@127.0.0.1:3306`;
      @Module({
        imports: [
          TypeOrmModule.forRoot({ type: 'mysql', url: dsUrl, retryAttempts: 0 }),
          TraceModule.forRoot({
            stream: capture,
            format: 'json',
            redis: false,
            metricsTimeoutMs: TIMEOUT_MS,
            otel: { enabled: false },
          }),
        ],
      })
      class LeastPrivilegeModule {}
      app = (await Test.createTestingModule({ imports: [LeastPrivilegeModule] }).compile()).createNestApplication({
        logger: false,
      });
      await app.init();
      dataSource = app.get(DataSource);
    });
    afterAll(async () => {
      await app?.close();
      await mysqlAdmin.query(`DROP USER IF EXISTS '${user}'@'127.0.0.1'`);
    });

    it('the server probe works with USAGE only, and the snapshot holds no password, user@host or URL', async () => {
      expect(await dataSource.query('SELECT 1 AS one')).toEqual([{ one: 1 }]);
      const metrics = await app.get(SystemMetricsService).snapshot();
      const server = (metrics.mysql as { server: Record<string, unknown> }).server;
      expect(server).toMatchObject({
        threadsConnected: expect.any(Number),
        threadsRunning: expect.any(Number),
        threadsCached: expect.any(Number),
      });
      const text = JSON.stringify(metrics);
      expect(text).not.toContain(password);
      expect(text).not.toMatch(/mysql:\/\/|@127\.0\.0\.1/);
    });
  });
});
