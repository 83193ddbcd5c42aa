import type { MysqlPoolMetrics } from '../trace.types.js';

interface HasLength {
  readonly length: number;
}

/** The private fields of a mysql2 `Pool` (same names in the `mysql` package) that hold its state. */
interface Mysql2PoolInternals {
  readonly _allConnections?: HasLength;
  readonly _freeConnections?: HasLength;
  readonly _connectionQueue?: HasLength;
  readonly config?: { readonly connectionLimit?: unknown };
}

function lengthOf(queue: HasLength | undefined): number | undefined {
  return queue !== null && typeof queue === 'object' && typeof queue.length === 'number' ? queue.length : undefined;
}

/**
 * The one place that reads mysql2 pool internals (sidorares/node-mysql2 has no public pool stats: #1078, #2196).
 * Feature-detected: returns `null` when a field is missing or not a number, and `test/unit/metrics` pins the field
 * names for the installed mysql2, so an upgrade that renames them fails a test instead of reporting zeros.
 *
 * `total` is the connection limit, `open` the connections currently opened, `active` the ones lent out,
 * `idle` the open ones waiting in the pool, `waiting` the `getConnection` calls queued for a free connection.
 */
export function readMysql2PoolState(pool: unknown): MysqlPoolMetrics | null {
  if (pool === null || typeof pool !== 'object') return null;
  const internals = pool as Mysql2PoolInternals;
  const open = lengthOf(internals._allConnections);
  const idle = lengthOf(internals._freeConnections);
  const waiting = lengthOf(internals._connectionQueue);
  const limit = internals.config?.connectionLimit;
  if (open === undefined || idle === undefined || waiting === undefined || typeof limit !== 'number') return null;
  return { total: limit, active: open - idle, idle, waiting, open };
}

/**
 * Whether a `getConnection()` on this mysql2 pool now queues: no free connection and the limit reached (a limit of 0
 * is unlimited), or callers already queued. Reads the same internals as `readMysql2PoolState`, without allocating.
 */
export function mysql2PoolMustQueue(pool: unknown): boolean {
  if (pool === null || typeof pool !== 'object') return false;
  const internals = pool as Mysql2PoolInternals;
  const waiting = lengthOf(internals._connectionQueue);
  if (waiting !== undefined && waiting > 0) return true;
  const open = lengthOf(internals._allConnections);
  const idle = lengthOf(internals._freeConnections);
  const limit = internals.config?.connectionLimit;
  return idle === 0 && open !== undefined && typeof limit === 'number' && limit > 0 && open >= limit;
}
