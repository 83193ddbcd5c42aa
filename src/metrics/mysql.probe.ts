import type {
  DataSourceLike,
  Mysql2ConnectionLike,
  Mysql2ModuleLike,
  MysqlDriverLike,
} from '../connections/typeorm.types.js';
import type { MysqlMetrics, MysqlServerMetrics, ProbeError } from '../trace.types.js';
import { readMysql2PoolState } from './mysql2-pool.internals.js';
import { errorCode, errorMessage, networkProbeError, probeError } from './probe-error.js';
import { withTimeout } from './with-timeout.js';

/** DataSource types served by TypeORM's MysqlDriver. */
const MYSQL_TYPES = new Set(['mysql', 'mariadb']);

/** Global-only counters (`SHOW STATUS` defaults to SESSION scope), one round trip, no privilege needed. */
const SERVER_STATUS_SQL =
  "SHOW GLOBAL STATUS WHERE Variable_name IN ('Threads_connected', 'Threads_running', 'Threads_cached', 'Slow_queries', 'Max_used_connections')";
const MAX_CONNECTIONS_SQL = 'SELECT @@GLOBAL.max_connections AS max_connections';

const FORBIDDEN_CODES = new Set([
  'ER_ACCESS_DENIED_ERROR',
  'ER_SPECIFIC_ACCESS_DENIED_ERROR',
  'ER_DBACCESS_DENIED_ERROR',
  'ER_TABLEACCESS_DENIED_ERROR',
]);
/** The server does not know the probe's SQL (an old or unusual server): the one case that reads as "unsupported". */
const UNSUPPORTED_CODES = new Set([
  'ER_PARSE_ERROR',
  'ER_UNKNOWN_SYSTEM_VARIABLE',
  'ER_NOT_SUPPORTED_YET',
  'ER_UNKNOWN_COM_ERROR',
]);

const SHUTTING_DOWN = 'shutting down';

/** `true` when the DataSource runs on TypeORM's MySQL / MariaDB driver. */
export function isMysqlDataSource(dataSource: DataSourceLike): boolean {
  return MYSQL_TYPES.has(dataSource.options.type);
}

/**
 * MySQL / MariaDB metrics of the app's TypeORM DataSource (`mysql` or `mariadb` type, mysql2 driver):
 *
 * - `pool`: this app's pool, read in-process and instantly (see `readMysql2PoolState`), present even when the server
 *   cannot be asked;
 * - `server`: server-wide counters from one `SHOW GLOBAL STATUS WHERE Variable_name IN (…)`, bounded by `timeoutMs`.
 *
 * The server query never goes through the app's pool (an exhausted pool is exactly when the snapshot matters).
 * It runs on **one extra connection**, opened lazily on the first snapshot with the pool's own connection settings
 * (same host, user, TLS) through the mysql2 module TypeORM loaded, kept open for later snapshots, and closed by
 * `close()` (on application shutdown). A query that times out destroys that connection; the next snapshot opens a
 * new one. `threadsConnected` therefore counts that connection, and `threadsRunning` the status query itself.
 */
export class MysqlProbe {
  private connection: Mysql2ConnectionLike | null = null;
  private maxConnections: number | null = null;
  private closed = false;

  constructor(
    private readonly dataSource: DataSourceLike,
    private readonly timeoutMs: number,
  ) {}

  async read(): Promise<MysqlMetrics | ProbeError> {
    const driver = (this.dataSource.driver ?? {}) as MysqlDriverLike;
    if (driver.pool === undefined || driver.pool === null) {
      if (driver.poolCluster) return probeError('unsupported', 'replicated DataSources (pool cluster) are not probed');
      return probeError('unavailable', 'the DataSource is not initialized');
    }
    const pool = readMysql2PoolState(driver.pool) ?? probeError('unsupported', 'mysql2 pool internals not recognized');
    const server = await this.readServer(driver);
    return { pool, server };
  }

  /** Closes the probe's own connection; later reads report the server as unavailable. */
  close(): void {
    this.closed = true;
    this.drop();
  }

  private async readServer(driver: MysqlDriverLike): Promise<MysqlServerMetrics | ProbeError> {
    if (this.closed) return probeError('unavailable', SHUTTING_DOWN);
    try {
      return await withTimeout(this.queryServer(driver), this.timeoutMs, () => this.drop());
    } catch (error) {
      // The app shut down while the query ran (`close()` ended the connection under it, which mysql2 reports as e.g.
      // ERR_STREAM_WRITE_AFTER_END): that says nothing about the server.
      if (this.closed) return probeError('unavailable', SHUTTING_DOWN);
      // A fatal error (refused connect, lost or closed connection) leaves the connection unusable: open a new one next time.
      if ((error as { fatal?: unknown } | null)?.fatal === true) this.drop();
      return classifyMysqlError(error);
    }
  }

  private async queryServer(driver: MysqlDriverLike): Promise<MysqlServerMetrics | ProbeError> {
    const connection = this.connection ?? this.open(driver);
    if (!connection) return probeError('unsupported', 'the MySQL driver module has no Connection class');
    if (this.maxConnections === null) {
      const rows = await query(connection, MAX_CONNECTIONS_SQL);
      const value = Number(
        (Array.isArray(rows) ? (rows[0] as { max_connections?: unknown } | undefined) : undefined)?.max_connections,
      );
      if (Number.isFinite(value)) this.maxConnections = value;
    }
    const status = statusMap(await query(connection, SERVER_STATUS_SQL));
    const threadsConnected = status.get('threads_connected');
    const threadsRunning = status.get('threads_running');
    const threadsCached = status.get('threads_cached');
    if (threadsConnected === undefined || threadsRunning === undefined || threadsCached === undefined) {
      return probeError(
        'unsupported',
        'SHOW GLOBAL STATUS did not return Threads_connected / Threads_running / Threads_cached',
      );
    }
    return {
      threadsConnected,
      threadsRunning,
      threadsCached,
      maxConnections: this.maxConnections,
      maxUsedConnections: status.get('max_used_connections') ?? null,
      slowQueries: status.get('slow_queries') ?? null,
    };
  }

  /** Opens the probe's own connection from a copy of the pool's connection config (the pool itself is not touched). */
  private open(driver: MysqlDriverLike): Mysql2ConnectionLike | null {
    const mysql: Mysql2ModuleLike | undefined = driver.mysql;
    const source = driver.pool?.config?.connectionConfig;
    if (typeof mysql?.Connection !== 'function' || !source) return null;
    // A copy with the prototype kept, as mysql2's own pool does per connection (`_createConnectionConfig`).
    const config = Object.create(
      Object.getPrototypeOf(source) as object | null,
      Object.getOwnPropertyDescriptors(source),
    ) as Record<string, unknown>;
    config.pool = undefined;
    config.connectTimeout = this.timeoutMs;
    const connection = new mysql.Connection({ config });
    const forget = (): void => {
      if (this.connection === connection) {
        this.connection = null;
        this.maxConnections = null;
      }
    };
    // Without an 'error' listener a dropped connection would crash the app; the next read reports the failure.
    connection.on('error', forget);
    connection.on('end', forget);
    this.connection = connection;
    return connection;
  }

  private drop(): void {
    const connection = this.connection;
    this.connection = null;
    this.maxConnections = null;
    connection?.destroy();
  }
}

function query(connection: Mysql2ConnectionLike, sql: string): Promise<unknown> {
  return new Promise((resolve, reject) => {
    connection.query(sql, (error, rows) => (error ? reject(error) : resolve(rows)));
  });
}

/** `Variable_name` (lower case) → numeric `Value`. */
function statusMap(rows: unknown): Map<string, number> {
  const map = new Map<string, number>();
  if (!Array.isArray(rows)) return map;
  for (const row of rows as Array<Record<string, unknown>>) {
    const name = row.Variable_name ?? row.VARIABLE_NAME;
    const value = Number(row.Value ?? row.VALUE);
    if (typeof name === 'string' && Number.isFinite(value)) map.set(name.toLowerCase(), value);
  }
  return map;
}

/** Maps a driver error to a `ProbeError` with its code only (mysql2 messages may carry host names and SQL). */
export function classifyMysqlError(error: unknown): ProbeError {
  const network = networkProbeError(error);
  if (network) return network;
  const code = errorCode(error);
  if (code !== undefined) {
    if (FORBIDDEN_CODES.has(code)) return probeError('forbidden', code);
    if (UNSUPPORTED_CODES.has(code)) return probeError('unsupported', code);
    // Anything else (a lost connection, a stream written after its end, a driver error this list does not know)
    // means the server could not be asked this time, not that it lacks a feature.
    return probeError('unavailable', code);
  }
  const message = errorMessage(error);
  // mysql2 raises this (without a code) when a command is added to a connection that already failed.
  if (/closed state|connection.*(closed|lost)/i.test(message)) return probeError('unavailable', 'connection closed');
  return probeError('unavailable', message);
}
