import { performance } from 'node:perf_hooks';
import type { DbSpanInfo } from '../context/span-extra.js';
import { NOTHING_TO_UNDO } from './install-once.util.js';
import type { Uninstall } from './install-once.util.js';
import { mysql2PoolMustQueue } from '../metrics/mysql2-pool.internals.js';
import { hasMethod, wrapMethod } from './wrap-method.util.js';

type AnyMethod = (this: unknown, ...args: unknown[]) => unknown;

/**
 * The statement whose query runner is about to ask its driver for a connection. A runner's `query()` / `stream()`
 * calls `driver.obtainMasterConnection()` synchronously (before its first `await`) when it has no connection yet, so
 * the statement wrapper fills this slot around that synchronous call and the driver wrapper takes it: no async
 * context, no per-statement allocation. A runner that already holds a connection (inside a transaction) asks for none.
 */
let pending: DbSpanInfo | undefined;

/** Marks `info` as the statement a connection request made now is for; returns the previous slot for `release`. */
export function takePoolWaitSlot(info: DbSpanInfo): DbSpanInfo | undefined {
  const previous = pending;
  pending = info;
  return previous;
}

export function releasePoolWaitSlot(previous: DbSpanInfo | undefined): void {
  pending = previous;
}

/** pg-pool's public counters (`pg.Pool`). */
interface PgPoolCounters {
  readonly totalCount?: unknown;
  readonly idleCount?: unknown;
  readonly waitingCount?: unknown;
  readonly options?: { readonly max?: unknown };
}

/**
 * Whether a `connect()` on this pg pool now has to wait for a client another caller gives back: pg-pool queues every
 * request for a tick (`_pendingQueue`, served in order) even when it can serve it, so a request waits only when the
 * requests ahead of it already take every idle client and every client the pool may still open.
 */
function pgPoolMustQueue(pool: unknown): boolean {
  if (pool === null || typeof pool !== 'object') return false;
  const { totalCount, idleCount, waitingCount, options } = pool as PgPoolCounters;
  const max = options?.max;
  if (typeof totalCount !== 'number' || typeof idleCount !== 'number' || typeof waitingCount !== 'number') return false;
  if (typeof max !== 'number') return false;
  return waitingCount >= idleCount + Math.max(0, max - totalCount);
}

/** Whether the driver's pool (TypeORM's `MysqlDriver#pool` or `PostgresDriver#master`) is full right now. */
function mustQueue(driver: object): boolean {
  const { pool, master } = driver as { pool?: unknown; master?: unknown };
  if (master !== undefined) return pgPoolMustQueue(master);
  return mysql2PoolMustQueue(pool);
}

/**
 * Measures how long a statement waited in the app's pool queue: wraps this one driver's `obtainMasterConnection` (the
 * one way TypeORM's MySQL and PostgreSQL query runners get a connection: mysql2 `pool.getConnection`, pg
 * `pool.connect`). When the request is made for a recorded statement and the pool is full at that moment (so the
 * request queues), the time until the pool hands a connection over (or fails) becomes the statement's `poolWaitMs`.
 * A request the pool serves at once, or by opening a new connection, is not a wait and records nothing. Replicated
 * setups' read replicas (`obtainSlaveConnection` on a replication pool) are not measured.
 */
export function instrumentPoolWait(driver: object): Uninstall {
  if (!hasMethod(driver, 'obtainMasterConnection')) return NOTHING_TO_UNDO;
  const state = { active: true };
  const restore = wrapMethod<AnyMethod>(
    driver,
    'obtainMasterConnection',
    (original) =>
      function obtainMasterConnection(this: unknown, ...args: unknown[]): unknown {
        const info = pending;
        pending = undefined;
        if (info === undefined || !state.active || !mustQueue(driver)) return original.apply(this, args);
        const start = performance.now();
        const result = original.apply(this, args);
        if (result instanceof Promise) {
          const done = (): void => {
            info.poolWaitMs = performance.now() - start;
          };
          // A second branch of the caller's promise: the caller still sees the rejection itself.
          result.then(done, done);
        }
        return result;
      },
  );
  return () => {
    state.active = false;
    restore();
  };
}
