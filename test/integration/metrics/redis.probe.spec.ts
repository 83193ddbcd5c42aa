import { randomBytes } from 'node:crypto';
import type { TestingModule } from '@nestjs/testing';
import { Redis } from 'ioredis';
import { SystemMetricsService } from '../../../src/metrics/system-metrics.service.js';
import type { RedisMetrics } from '../../../src/trace.types.js';
import { REDIS_URL, RUN_ID } from './helpers/env.js';
import { createMetricsApp, NESTJS_IOREDIS_TOKEN } from './helpers/metrics-app.js';
import { freePort } from '../../support/free-port.js';
import { OwnRedisServer } from './helpers/redis-server.js';
import { failed, freshSnapshot, ok, sleep } from './helpers/snapshots.js';

const TIMEOUT_MS = 400;
/** Slack for a noisy machine on top of `metricsTimeoutMs`. */
const MARGIN_MS = 400;

function redisApp(url: string, options?: Record<string, unknown>): Promise<TestingModule> {
  return createMetricsApp({ typeorm: false, redis: { url, options }, trace: { metricsTimeoutMs: TIMEOUT_MS } });
}

async function connectedClients(admin: Redis): Promise<number> {
  const info = await admin.info('clients');
  return Number(/connected_clients:(\d+)/.exec(info)?.[1]);
}

describe('Redis probe against the real Redis', () => {
  describe('ground truth (shared server)', () => {
    let app: TestingModule;
    let service: SystemMetricsService;
    let client: Redis;
    const bigKey = `${RUN_ID}:big`;

    beforeAll(async () => {
      app = await redisApp(REDIS_URL);
      service = app.get(SystemMetricsService);
      client = app.get<Redis>(NESTJS_IOREDIS_TOKEN);
      await client.ping();
    });
    afterAll(async () => {
      await client.del(bigKey);
      await app.close();
    });

    it('connectedClients matches the number of lines of CLIENT LIST', async () => {
      // Other clients of the shared server may come and go: the INFO figure must lie between two CLIENT LIST counts.
      await service.snapshot();
      await sleep(600);
      const before = String(await client.client('LIST'))
        .trim()
        .split('\n').length;
      const { metrics } = await freshSnapshot(service);
      const after = String(await client.client('LIST'))
        .trim()
        .split('\n').length;
      const redis = ok<RedisMetrics>(metrics.redis);
      expect(redis.connectedClients).toBeGreaterThanOrEqual(Math.min(before, after));
      expect(redis.connectedClients).toBeLessThanOrEqual(Math.max(before, after));
    });

    it('a 1 MB SET raises usedMemoryMB by about 1 MB', async () => {
      const before = ok<RedisMetrics>((await freshSnapshot(service)).metrics.redis);
      await client.set(bigKey, randomBytes(1024 * 1024));
      const after = ok<RedisMetrics>((await freshSnapshot(service)).metrics.redis);
      expect(after.usedMemoryMB - before.usedMemoryMB).toBeGreaterThanOrEqual(0.9);
      expect(after.usedMemoryMB - before.usedMemoryMB).toBeLessThan(3);
    });

    it("reports the INFO fields and the app client's own state, and nothing else from INFO", async () => {
      const { metrics } = await freshSnapshot(service);
      const redis = ok<RedisMetrics>(metrics.redis);
      expect(redis).toMatchObject({ clientStatus: 'ready', commandQueueLength: 0, offlineQueueLength: 0 });
      for (const field of ['opsPerSec', 'blockedClients', 'keyspaceHits', 'keyspaceMisses', 'evictedKeys']) {
        expect(typeof redis[field]).toBe('number');
      }
      const text = JSON.stringify(metrics);
      expect(text).not.toMatch(/executable|config_file|redis-server|addr=|127\.0\.0\.1|redis:\/\//);
    });

    it('sees commands of the app client still waiting for their reply', async () => {
      const blocked = new Redis(REDIS_URL);
      try {
        const waiting = client.blpop(`${RUN_ID}:list`, 2);
        await sleep(50);
        const { metrics } = await freshSnapshot(service);
        const redis = ok<RedisMetrics>(metrics.redis);
        expect(redis.commandQueueLength).toBe(1);
        expect(redis.blockedClients as number).toBeGreaterThanOrEqual(1);
        await blocked.lpush(`${RUN_ID}:list`, 'x');
        await waiting;
      } finally {
        await blocked.del(`${RUN_ID}:list`);
        blocked.disconnect();
      }
    });
  });

  describe('faults (private redis-server instances; the shared server is never stopped or paused)', () => {
    let server: OwnRedisServer;
    let admin: Redis;

    beforeAll(async () => {
      server = await OwnRedisServer.start();
      admin = new Redis(server.port, '127.0.0.1');
      await admin.call('ACL', 'SETUSER', 'nt_no_info', 'on', '>nt-secret-pw', '~*', '&*', '+@all', '-info');
    });
    afterAll(async () => {
      admin.disconnect();
      await server.stop();
    });

    it('Redis on a closed port → ProbeError "unavailable" (ECONNREFUSED) within the timeout, with the client-side numbers', async () => {
      const app = await redisApp(`redis://127.0.0.1:${await freePort()}`);
      try {
        const { metrics, ms } = await freshSnapshot(app.get(SystemMetricsService));
        expect(ms).toBeLessThan(TIMEOUT_MS + MARGIN_MS);
        const redis = failed(metrics.redis);
        expect(redis).toMatchObject({ status: 'unavailable', error: 'ECONNREFUSED', commandQueueLength: 0 });
        expect(redis.clientStatus).not.toBe('ready');
        expect(typeof redis.offlineQueueLength).toBe('number');
      } finally {
        await app.close();
      }
    });

    it('ACL user without INFO → ProbeError "forbidden" with the client-side numbers; password and user never reported', async () => {
      const app = await redisApp(`redis://nt_no_info:nt-secret-pw@127.0.0.1:${server.port}`, {
        enableReadyCheck: false,
      });
      try {
        await app.get<Redis>(NESTJS_IOREDIS_TOKEN).ping();
        const { metrics, ms } = await freshSnapshot(app.get(SystemMetricsService));
        expect(ms).toBeLessThan(TIMEOUT_MS + MARGIN_MS);
        expect(failed(metrics.redis)).toEqual({
          status: 'forbidden',
          error: 'NOPERM: the server refused INFO for this user',
          clientStatus: 'ready',
          commandQueueLength: 0,
          offlineQueueLength: 0,
        });
        expect(JSON.stringify(metrics)).not.toMatch(/nt-secret-pw|nt_no_info/);
      } finally {
        await app.close();
      }
    });

    it('CLIENT PAUSE from another connection → ProbeError "timeout" after metricsTimeoutMs; recovers after the pause', async () => {
      const app = await redisApp(server.url);
      try {
        const service = app.get(SystemMetricsService);
        ok<RedisMetrics>((await service.snapshot()).redis);
        await admin.call('CLIENT', 'PAUSE', '1500', 'ALL');
        const { metrics, ms } = await freshSnapshot(service);
        expect(failed(metrics.redis)).toMatchObject({ status: 'timeout', error: `timeout after ${TIMEOUT_MS} ms` });
        expect(ms).toBeGreaterThanOrEqual(TIMEOUT_MS - 20);
        expect(ms).toBeLessThan(TIMEOUT_MS + MARGIN_MS);
        await sleep(1200);
        const recovered = ok<RedisMetrics>((await freshSnapshot(service)).metrics.redis);
        expect(recovered.connectedClients).toBeGreaterThanOrEqual(3);
      } finally {
        await app.close();
      }
    });

    it('closes its own connection on shutdown', async () => {
      const app = await redisApp(server.url);
      const service = app.get(SystemMetricsService);
      ok<RedisMetrics>((await service.snapshot()).redis);
      // admin + the app client + the probe's own connection
      expect(await connectedClients(admin)).toBe(3);
      await app.close();
      await sleep(100);
      expect(await connectedClients(admin)).toBe(1);
    });

    it('INFO renamed away (managed Redis) → ProbeError "unsupported"', async () => {
      const renamed = await OwnRedisServer.start('--rename-command', 'INFO', '');
      const app = await redisApp(renamed.url, { enableReadyCheck: false });
      try {
        const { metrics, ms } = await freshSnapshot(app.get(SystemMetricsService));
        expect(ms).toBeLessThan(TIMEOUT_MS + MARGIN_MS);
        expect(failed(metrics.redis)).toMatchObject({
          status: 'unsupported',
          error: 'INFO is disabled or renamed on this server',
        });
      } finally {
        await app.close();
        await renamed.stop();
      }
    });

    it('Redis server stopped mid-run → ProbeError "unavailable" within the timeout; the app client\'s offline queue is reported, not used', async () => {
      const doomed = await OwnRedisServer.start();
      let restarted: OwnRedisServer | undefined;
      const app = await redisApp(doomed.url);
      try {
        const service = app.get(SystemMetricsService);
        const client = app.get<Redis>(NESTJS_IOREDIS_TOKEN);
        await client.ping();
        expect(ok<RedisMetrics>((await service.snapshot()).redis).clientStatus).toBe('ready');
        await doomed.stop();
        await sleep(100);
        // A command of the app itself while the server is down waits in ioredis's offline queue.
        const pending = client.get(`${RUN_ID}:k`).catch((error: unknown) => error);
        const { metrics, ms } = await freshSnapshot(service);
        expect(ms).toBeLessThan(TIMEOUT_MS + MARGIN_MS);
        const redis = failed(metrics.redis);
        expect(redis).toMatchObject({ status: 'unavailable', error: 'ECONNREFUSED', offlineQueueLength: 1 });
        expect(['reconnecting', 'connecting', 'close', 'end']).toContain(redis.clientStatus);
        // Back up on the same port: the app's queued command goes through, and the next snapshot reconnects.
        restarted = await OwnRedisServer.startOn(doomed.port);
        expect(await pending).toBeNull();
        expect(ok<RedisMetrics>((await freshSnapshot(service)).metrics.redis).offlineQueueLength).toBe(0);
      } finally {
        await app.close();
        await doomed.stop();
        await restarted?.stop();
      }
    });
  });
});
