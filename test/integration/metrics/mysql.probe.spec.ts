import { DataSource } from 'typeorm';
import type { DataSourceLike } from '../../../src/connections/typeorm.types.js';
import mysql from 'mysql2/promise';
import type { TestingModule } from '@nestjs/testing';
import { SystemMetricsService } from '../../../src/metrics/system-metrics.service.js';
import type { MysqlMetrics, MysqlPoolMetrics, MysqlServerMetrics } from '../../../src/trace.types.js';
import { MYSQL_URL } from './helpers/env.js';
import { createMetricsApp } from './helpers/metrics-app.js';
import { failed, freshSnapshot, ok, sleep } from './helpers/snapshots.js';
import { TcpProxy } from './helpers/tcp-proxy.js';

const TIMEOUT_MS = 400;
/** Slack for a noisy machine on top of `metricsTimeoutMs`. */
const MARGIN_MS = 400;

function viaPort(port: number): string {
  const url = new URL(MYSQL_URL);
  url.hostname = '127.0.0.1';
  url.port = String(port);
  return url.toString();
}

async function mysqlSection(service: SystemMetricsService): Promise<{ mysql: MysqlMetrics; ms: number }> {
  const { metrics, ms } = await freshSnapshot(service);
  return { mysql: ok<MysqlMetrics>(metrics.mysql), ms };
}

describe('MySQL probe against the real MariaDB', () => {
  describe('ground truth', () => {
    let app: TestingModule;
    let service: SystemMetricsService;
    let dataSource: DataSource;

    beforeAll(async () => {
      app = await createMetricsApp({
        typeorm: { url: MYSQL_URL },
        redis: false,
        trace: { metricsTimeoutMs: TIMEOUT_MS },
      });
      service = app.get(SystemMetricsService);
      dataSource = app.get(DataSource);
    });
    afterAll(async () => {
      await app.close();
    });

    it('reports server-wide Threads_connected: 3 extra connections outside the app raise it by 3, the pool stays as it is', async () => {
      // The shared server may see other clients come and go: a few attempts absorb that noise, each still exact.
      const deltas: number[] = [];
      for (let attempt = 0; attempt < 3; attempt += 1) {
        const before = await mysqlSection(service);
        const extra = await Promise.all([0, 1, 2].map(() => mysql.createConnection(MYSQL_URL)));
        await Promise.all(extra.map((connection) => connection.query('SELECT 1')));
        const after = await mysqlSection(service);
        await Promise.all(extra.map((connection) => connection.end()));
        const delta =
          ok<MysqlServerMetrics>(after.mysql.server).threadsConnected -
          ok<MysqlServerMetrics>(before.mysql.server).threadsConnected;
        deltas.push(delta);
        expect(ok<MysqlPoolMetrics>(after.mysql.pool)).toEqual(ok<MysqlPoolMetrics>(before.mysql.pool));
        if (delta === 3) break;
      }
      expect(deltas).toContain(3);
    });

    it('reads the rest of the server section from SHOW GLOBAL STATUS and @@max_connections', async () => {
      const { mysql: section } = await mysqlSection(service);
      const server = ok<MysqlServerMetrics>(section.server);
      const [rows] = await dataSource.query<[{ Value: string }]>("SHOW GLOBAL VARIABLES LIKE 'max_connections'");
      expect(server.maxConnections).toBe(Number(rows.Value));
      // The status query itself is running while it counts.
      expect(server.threadsRunning).toBeGreaterThanOrEqual(1);
      expect(server.threadsCached).toBeGreaterThanOrEqual(0);
      expect(typeof server.slowQueries).toBe('number');
      expect(server.maxUsedConnections as number).toBeGreaterThanOrEqual(server.threadsConnected > 0 ? 1 : 0);
    });

    it("reads this app's pool in-process: two connections held by SELECT SLEEP → active 2", async () => {
      const held = [dataSource.query('SELECT SLEEP(1.2)'), dataSource.query('SELECT SLEEP(1.2)')];
      await sleep(200);
      const { mysql: section } = await mysqlSection(service);
      const pool = ok<MysqlPoolMetrics>(section.pool);
      await Promise.all(held);
      expect(pool).toMatchObject({ total: 10, active: 2, waiting: 0 });
      expect(pool.idle).toBe((pool.open as number) - 2);
      const { mysql: afterwards } = await mysqlSection(service);
      expect(ok<MysqlPoolMetrics>(afterwards.pool)).toMatchObject({ active: 0, waiting: 0 });
    });
  });

  it("an exhausted pool (2 of 2 busy, 1 queued) is reported within the timeout, with the server numbers from the probe's own connection", async () => {
    const app = await createMetricsApp({
      typeorm: { url: MYSQL_URL, poolSize: 2 },
      redis: false,
      trace: { metricsTimeoutMs: TIMEOUT_MS },
    });
    try {
      const service = app.get(SystemMetricsService);
      const dataSource = app.get(DataSource);
      const held = [dataSource.query('SELECT SLEEP(2)'), dataSource.query('SELECT SLEEP(2)')];
      let queuedDone = false;
      const queued = dataSource.query('SELECT 1').then(() => {
        queuedDone = true;
      });
      await sleep(200);
      const { metrics, ms } = await freshSnapshot(service);
      const section = ok<MysqlMetrics>(metrics.mysql);
      expect(queuedDone).toBe(false);
      expect(ms).toBeLessThan(TIMEOUT_MS + MARGIN_MS);
      expect(ok<MysqlPoolMetrics>(section.pool)).toMatchObject({ total: 2, active: 2, idle: 0 });
      expect(ok<MysqlPoolMetrics>(section.pool).waiting).toBeGreaterThanOrEqual(1);
      expect(ok<MysqlServerMetrics>(section.server).threadsConnected).toBeGreaterThanOrEqual(3);
      await Promise.all([...held, queued]);
    } finally {
      await app.close();
    }
  });

  describe('faults (the app reaches MariaDB through a local TCP proxy that is cut or stalled)', () => {
    let proxy: TcpProxy;
    let app: TestingModule;
    let service: SystemMetricsService;

    beforeEach(async () => {
      proxy = await TcpProxy.start(Number(new URL(MYSQL_URL).port || 3306));
      app = await createMetricsApp({
        typeorm: { url: viaPort(proxy.port) },
        redis: false,
        trace: { metricsTimeoutMs: TIMEOUT_MS },
      });
      service = app.get(SystemMetricsService);
      ok<MysqlServerMetrics>(ok<MysqlMetrics>((await service.snapshot()).mysql).server);
    });
    afterEach(async () => {
      await app.close();
      await proxy.close();
    });

    it('MySQL unreachable (port closed) → server is a ProbeError "unavailable" within the timeout; pool numbers still there', async () => {
      await proxy.close();
      const { metrics, ms } = await freshSnapshot(service);
      const section = ok<MysqlMetrics>(metrics.mysql);
      expect(ms).toBeLessThan(TIMEOUT_MS + MARGIN_MS);
      expect(failed(section.server)).toEqual({
        status: 'unavailable',
        error: expect.stringMatching(/^(ECONNREFUSED|PROTOCOL_CONNECTION_LOST|ECONNRESET|connection closed)$/),
      });
      expect(ok<MysqlPoolMetrics>(section.pool).total).toBe(10);
      // Still unreachable on the next snapshot: a fresh connect is refused.
      const again = ok<MysqlMetrics>((await freshSnapshot(service)).metrics.mysql);
      expect(failed(again.server)).toEqual({ status: 'unavailable', error: 'ECONNREFUSED' });
    });

    it('MySQL hung (no bytes come back) → server is a ProbeError "timeout" after metricsTimeoutMs; pool numbers still there', async () => {
      proxy.stall();
      const { metrics, ms } = await freshSnapshot(service);
      const section = ok<MysqlMetrics>(metrics.mysql);
      expect(failed(section.server)).toEqual({ status: 'timeout', error: `timeout after ${TIMEOUT_MS} ms` });
      expect(ms).toBeGreaterThanOrEqual(TIMEOUT_MS - 20);
      expect(ms).toBeLessThan(TIMEOUT_MS + MARGIN_MS);
      expect(ok<MysqlPoolMetrics>(section.pool).total).toBe(10);
    });
  });

  it('never puts the password or the URL in a snapshot', async () => {
    const app = await createMetricsApp({ typeorm: { url: MYSQL_URL }, redis: false });
    try {
      const text = JSON.stringify(await app.get(SystemMetricsService).snapshot());
      expect(text).not.toContain(MYSQL_URL);
      expect(text).not.toMatch(/mysql:\/\//);
      const password = new URL(MYSQL_URL).password;
      if (password) expect(text).not.toContain(password);
    } finally {
      await app.close();
    }
  });
});

describe('MySQL probe at shutdown', () => {
  it('a read that loses the race with close() says unavailable (shutting down), not a server limitation', async () => {
    const { MysqlProbe } = await import('../../../src/metrics/mysql.probe.js');
    const dataSource = new DataSource({ type: 'mysql', url: MYSQL_URL });
    await dataSource.initialize();
    try {
      const probe = new MysqlProbe(dataSource as unknown as DataSourceLike, TIMEOUT_MS);
      ok<MysqlServerMetrics>(ok<MysqlMetrics>(await probe.read()).server); // the probe's own connection is open
      for (const closeAfter of [0, 1, 2]) {
        const reading = probe.read();
        if (closeAfter > 0) await sleep(closeAfter);
        probe.close();
        const result = (await reading) as MysqlMetrics;
        // Either the read finished first, or it says why it did not: never `unsupported`.
        if ('status' in result.server) expect(result.server).toEqual({ status: 'unavailable', error: 'shutting down' });
      }
      expect(((await probe.read()) as MysqlMetrics).server).toEqual({ status: 'unavailable', error: 'shutting down' });
    } finally {
      await dataSource.destroy();
    }
  });
});
