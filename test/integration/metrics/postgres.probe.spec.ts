import { DataSource } from 'typeorm';
import pg from 'pg';
import type { TestingModule } from '@nestjs/testing';
import { SystemMetricsService } from '../../../src/metrics/system-metrics.service.js';
import { metricsLines } from '../../../src/report/text-format.js';
import type { PostgresMetrics, PostgresPoolMetrics, PostgresServerMetrics } from '../../../src/trace.types.js';
import { POSTGRES_NOSTATS_URL, POSTGRES_URL, RUN_ID } from './helpers/env.js';
import { createMetricsApp } from './helpers/metrics-app.js';
import { failed, freshSnapshot, ok, sleep } from './helpers/snapshots.js';
import { TcpProxy } from './helpers/tcp-proxy.js';

const TIMEOUT_MS = 400;
/** Slack for a noisy machine on top of `metricsTimeoutMs`. */
const MARGIN_MS = 400;

async function postgresSection(service: SystemMetricsService): Promise<{ postgres: PostgresMetrics; ms: number }> {
  const { metrics, ms } = await freshSnapshot(service);
  return { postgres: ok<PostgresMetrics>(metrics.postgres), ms };
}

async function client(url = POSTGRES_URL): Promise<pg.Client> {
  const connection = new pg.Client({ connectionString: url });
  await connection.connect();
  return connection;
}

function viaPort(port: number): string {
  const url = new URL(POSTGRES_URL);
  url.port = String(port);
  return url.toString();
}

describe('PostgreSQL probe against the real server', () => {
  describe('ground truth', () => {
    let app: TestingModule;
    let service: SystemMetricsService;
    let dataSource: DataSource;
    const extra: pg.Client[] = [];
    const LOCKED = `${RUN_ID}_locked`;

    beforeAll(async () => {
      app = await createMetricsApp({
        typeorm: { type: 'postgres', url: POSTGRES_URL, poolSize: 4 },
        redis: false,
        trace: { metricsTimeoutMs: TIMEOUT_MS },
      });
      service = app.get(SystemMetricsService);
      dataSource = app.get(DataSource);
      await dataSource.query(`CREATE TABLE IF NOT EXISTS "${LOCKED}" (id int)`);
    });
    afterAll(async () => {
      await Promise.all(extra.splice(0).map((connection) => connection.end().catch(() => undefined)));
      await dataSource.query(`DROP TABLE IF EXISTS "${LOCKED}"`);
      await app.close();
    });

    it('counts client sessions server-wide: 3 connections outside the app raise it by 3, the pool stays as it is', async () => {
      const deltas: number[] = [];
      for (let attempt = 0; attempt < 3; attempt += 1) {
        const before = await postgresSection(service);
        const three = await Promise.all([0, 1, 2].map(() => client()));
        const after = await postgresSection(service);
        await Promise.all(three.map((connection) => connection.end()));
        deltas.push(
          ok<PostgresServerMetrics>(after.postgres.server).connections -
            ok<PostgresServerMetrics>(before.postgres.server).connections,
        );
        expect(ok<PostgresPoolMetrics>(after.postgres.pool)).toEqual(ok<PostgresPoolMetrics>(before.postgres.pool));
        if (deltas.at(-1) === 3) break;
      }
      expect(deltas).toContain(3);
    });

    it('sees an active statement, an idle transaction and a session waiting on a lock', async () => {
      const [sleeper, idle, holder, waiter] = await Promise.all([client(), client(), client(), client()]);
      extra.push(sleeper!, idle!, holder!, waiter!);
      const sleeping = sleeper!.query('SELECT pg_sleep(1.5)');
      await idle!.query('BEGIN');
      await holder!.query('BEGIN');
      await holder!.query(`LOCK TABLE "${LOCKED}" IN ACCESS EXCLUSIVE MODE`);
      await waiter!.query('BEGIN');
      const waiting = waiter!.query(`LOCK TABLE "${LOCKED}" IN ACCESS EXCLUSIVE MODE`);
      await sleep(100);
      const { postgres } = await postgresSection(service);
      const server = ok<PostgresServerMetrics>(postgres.server);
      // The sleeper, the waiter (its LOCK is running) and the probe's own query are active.
      expect(server.active).toBeGreaterThanOrEqual(3);
      expect(server.idleInTransaction).toBeGreaterThanOrEqual(2); // idle, holder
      expect(server.waitingOnLock).toBeGreaterThanOrEqual(1);
      expect(metricsLines({ ...(await service.snapshot()), postgres })[1]).toMatch(
        /postgres pool \d+ open, \d+ idle, 0 waiting {2}server \d+ connections \/ \d+ active, \d+ idle in tx, [1-9]\d* on lock/,
      );
      await holder!.query('COMMIT');
      await waiting;
      await waiter!.query('COMMIT');
      await idle!.query('ROLLBACK');
      await sleeping;
    });

    it("reads the app's pg.Pool in-process: two statements held → 2 open, 0 idle; a third waits", async () => {
      await dataSource.query('SELECT 1'); // one idle client at least
      const small = await createMetricsApp({
        typeorm: { type: 'postgres', url: POSTGRES_URL, poolSize: 2 },
        redis: false,
        trace: { metricsTimeoutMs: TIMEOUT_MS },
      });
      try {
        const smallService = small.get(SystemMetricsService);
        const smallSource = small.get(DataSource);
        const held = [1, 2, 3].map(() => smallSource.query('SELECT pg_sleep(0.8)'));
        await sleep(200);
        const { postgres } = await postgresSection(smallService);
        expect(ok<PostgresPoolMetrics>(postgres.pool)).toEqual({ total: 2, idle: 0, waiting: 1 });
        await Promise.all(held);
        const { postgres: after } = await postgresSection(smallService);
        expect(ok<PostgresPoolMetrics>(after.pool)).toEqual({ total: 2, idle: 2, waiting: 0 });
      } finally {
        await small.close();
      }
    });

    it('never uses the app pool for the server query: an exhausted pool still gets its server numbers', async () => {
      const held = [1, 2, 3, 4, 5].map(() => dataSource.query('SELECT pg_sleep(0.8)'));
      await sleep(150);
      const { postgres, ms } = await postgresSection(service);
      expect(ok<PostgresPoolMetrics>(postgres.pool)).toMatchObject({ total: 4, idle: 0, waiting: 1 });
      expect(ok<PostgresServerMetrics>(postgres.server).connections).toBeGreaterThanOrEqual(5);
      expect(ms).toBeLessThan(TIMEOUT_MS + MARGIN_MS);
      await Promise.all(held);
    });
  });

  it('a role that may not see other sessions: server is forbidden (pg answers with hidden rows), pool still read', async () => {
    const other = await client(); // a session of another role, hidden from nestjs_trace_nostats
    const app = await createMetricsApp({
      typeorm: { type: 'postgres', url: POSTGRES_NOSTATS_URL, poolSize: 2 },
      redis: false,
      trace: { metricsTimeoutMs: TIMEOUT_MS },
    });
    try {
      const { postgres } = await postgresSection(app.get(SystemMetricsService));
      expect(failed(postgres.server)).toEqual({
        status: 'forbidden',
        error: expect.stringMatching(/^pg_stat_activity hides \d+ sessions of other roles/) as unknown,
      });
      expect(ok<PostgresPoolMetrics>(postgres.pool).total).toBeGreaterThanOrEqual(1);
    } finally {
      await app.close();
      await other.end();
    }
  });

  it("the probe's connection cannot reach the server: timeout when it hangs, unavailable when refused; the pool is still read", async () => {
    const proxy = await TcpProxy.start(Number(new URL(POSTGRES_URL).port || 5432));
    const app = await createMetricsApp({
      typeorm: { type: 'postgres', url: viaPort(proxy.port), poolSize: 2 },
      redis: false,
      trace: { metricsTimeoutMs: TIMEOUT_MS },
    });
    try {
      const service = app.get(SystemMetricsService);
      ok<PostgresServerMetrics>((await postgresSection(service)).postgres.server);
      proxy.stall();
      const stalled = await postgresSection(service);
      expect(failed(stalled.postgres.server)).toEqual({ status: 'timeout', error: `timeout after ${TIMEOUT_MS} ms` });
      expect(stalled.ms).toBeLessThan(TIMEOUT_MS + MARGIN_MS);
      expect(ok<PostgresPoolMetrics>(stalled.postgres.pool).total).toBeGreaterThanOrEqual(1);
      await proxy.close();
      const refused = await postgresSection(service);
      expect(failed(refused.postgres.server)).toEqual({ status: 'unavailable', error: 'ECONNREFUSED' });
      expect(refused.ms).toBeLessThan(TIMEOUT_MS + MARGIN_MS);
    } finally {
      await proxy.close();
      await app.close();
    }
  });

  it('is null without a PostgreSQL DataSource', async () => {
    const app = await createMetricsApp({ typeorm: false, redis: false });
    try {
      expect((await app.get(SystemMetricsService).snapshot()).postgres).toBeNull();
    } finally {
      await app.close();
    }
  });
});
