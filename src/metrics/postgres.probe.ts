import type { DataSourceLike, PgClientLike, PgModuleLike, PostgresDriverLike } from '../connections/typeorm.types.js';
import type { PostgresMetrics, PostgresPoolMetrics, PostgresServerMetrics, ProbeError } from '../trace.types.js';
import { errorCode, errorMessage, networkProbeError, probeError } from './probe-error.js';
import { withTimeout } from './with-timeout.js';

/**
 * Client sessions by state, server-wide, in one round trip. `hidden` counts the sessions this role may not look into:
 * without superuser or `pg_read_all_stats`, PostgreSQL does not refuse the query but lists other roles' sessions with
 * `backend_type`, `state` and `wait_event_type` NULL (PostgreSQL 15, checked), so the counts would silently be low.
 */
const ACTIVITY_SQL = `SELECT count(*) FILTER (WHERE backend_type = 'client backend')::int AS connections,
  count(*) FILTER (WHERE backend_type = 'client backend' AND state = 'active')::int AS active,
  count(*) FILTER (WHERE backend_type = 'client backend'
    AND state IN ('idle in transaction', 'idle in transaction (aborted)'))::int AS idle_in_transaction,
  count(*) FILTER (WHERE backend_type = 'client backend' AND wait_event_type = 'Lock')::int AS waiting_on_lock,
  count(*) FILTER (WHERE backend_type IS NULL)::int AS hidden
FROM pg_stat_activity`;

/** SQLSTATE classes / codes that mean "not allowed": 28 (invalid authorization), 42501 (insufficient privilege). */
function isForbidden(code: string): boolean {
  return code.startsWith('28') || code === '42501';
}
/** The server does not know the probe's SQL (no `backend_type` before PostgreSQL 10): 42703, 42883, 42P01. */
const UNSUPPORTED_CODES = new Set(['42703', '42883', '42P01']);

const SHUTTING_DOWN = 'shutting down';

/** `true` when the DataSource runs on TypeORM's PostgresDriver (`type: 'postgres'`). */
export function isPostgresDataSource(dataSource: DataSourceLike): boolean {
  return dataSource.options.type === 'postgres';
}

/** The app's `pg.Pool` counters (public API of pg-pool), or `null` when they are not numbers. */
export function readPgPoolState(pool: unknown): PostgresPoolMetrics | null {
  if (pool === null || typeof pool !== 'object') return null;
  const { totalCount, idleCount, waitingCount } = pool as Record<string, unknown>;
  if (typeof totalCount !== 'number' || typeof idleCount !== 'number' || typeof waitingCount !== 'number') return null;
  return { total: totalCount, idle: idleCount, waiting: waitingCount };
}

/**
 * PostgreSQL metrics of the app's TypeORM DataSource (`type: 'postgres'`, driver `pg`):
 *
 * - `pool`: the app's `pg.Pool` (TypeORM's `driver.master`), its public counters read in-process and instantly;
 * - `server`: client sessions from `pg_stat_activity`, bounded by `timeoutMs`.
 *
 * Like `MysqlProbe`, the server query never goes through the app's pool: it runs on **one extra connection**, a
 * `pg.Client` of the pg module TypeORM loaded, with the pool's own connection options, opened lazily on the first
 * snapshot, kept for later ones and closed by `close()` (application shutdown). A query that times out or fails
 * ends that client; the next snapshot opens a new one. `connections` counts that client too.
 */
export class PostgresProbe {
  private client: Promise<PgClientLike> | null = null;
  private closed = false;

  constructor(
    private readonly dataSource: DataSourceLike,
    private readonly timeoutMs: number,
  ) {}

  async read(): Promise<PostgresMetrics | ProbeError> {
    const driver = (this.dataSource.driver ?? {}) as PostgresDriverLike;
    if (driver.master === undefined || driver.master === null) {
      return probeError('unavailable', 'the DataSource is not initialized');
    }
    const pool = readPgPoolState(driver.master) ?? probeError('unsupported', 'pg.Pool counters not recognized');
    const server = await this.readServer(driver);
    return { pool, server };
  }

  /** Ends the probe's own connection; later reads report the server as unavailable. */
  close(): void {
    this.closed = true;
    this.drop();
  }

  private async readServer(driver: PostgresDriverLike): Promise<PostgresServerMetrics | ProbeError> {
    if (this.closed) return probeError('unavailable', SHUTTING_DOWN);
    try {
      return await withTimeout(this.queryServer(driver), this.timeoutMs, () => this.drop());
    } catch (error) {
      if (this.closed) return probeError('unavailable', SHUTTING_DOWN);
      // Whatever failed (connect, auth, query), start from a new connection next time.
      this.drop();
      return classifyPostgresError(error);
    }
  }

  private async queryServer(driver: PostgresDriverLike): Promise<PostgresServerMetrics | ProbeError> {
    const opening = this.client ?? this.open(driver);
    if (opening === null) return probeError('unsupported', 'the pg module has no Client class');
    const client = await opening;
    const result = await client.query(ACTIVITY_SQL);
    const row = result.rows[0] as Record<string, unknown> | undefined;
    const connections = row?.connections;
    const active = row?.active;
    const idleInTransaction = row?.idle_in_transaction;
    const waitingOnLock = row?.waiting_on_lock;
    const hidden = row?.hidden;
    if (
      typeof connections !== 'number' ||
      typeof active !== 'number' ||
      typeof idleInTransaction !== 'number' ||
      typeof waitingOnLock !== 'number'
    ) {
      return probeError('unsupported', 'pg_stat_activity did not return the expected counts');
    }
    if (typeof hidden === 'number' && hidden > 0) {
      return probeError(
        'forbidden',
        `pg_stat_activity hides ${hidden} sessions of other roles from this role (grant pg_read_all_stats)`,
      );
    }
    return { connections, active, idleInTransaction, waitingOnLock };
  }

  /** Opens the probe's own client with the app pool's connection options (the pool itself is not touched). */
  private open(driver: PostgresDriverLike): Promise<PgClientLike> | null {
    const pg: PgModuleLike | undefined = driver.postgres;
    const source = driver.master?.options;
    if (typeof pg?.Client !== 'function' || !source) return null;
    const client = new pg.Client({
      ...source,
      connectionTimeoutMillis: this.timeoutMs,
      application_name: 'nestjs-trace metrics',
    });
    // Without an 'error' listener a dropped connection would crash the app; the next read reports the failure.
    client.on('error', () => {
      if (this.client === opened) this.client = null;
    });
    const opened = client.connect().then(() => client);
    this.client = opened;
    // A failed connect is reported by the read that awaits it; this branch only keeps it from being unhandled.
    opened.catch(() => undefined);
    return opened;
  }

  private drop(): void {
    const client = this.client;
    this.client = null;
    void client?.then(
      (connected) => connected.end().catch(() => undefined),
      () => undefined,
    );
  }
}

/** Maps a pg error to a `ProbeError` with its SQLSTATE or code only (pg messages may quote names and values). */
export function classifyPostgresError(error: unknown): ProbeError {
  const network = networkProbeError(error);
  if (network) return network;
  const code = errorCode(error);
  if (code !== undefined) {
    if (isForbidden(code)) return probeError('forbidden', code);
    if (UNSUPPORTED_CODES.has(code)) return probeError('unsupported', code);
    return probeError('unavailable', code);
  }
  const message = errorMessage(error);
  // pg's own connect timeout (`connectionTimeoutMillis`) has no code.
  if (/timeout/i.test(message)) return probeError('timeout', message);
  return probeError('unavailable', message);
}
