/**
 * The few parts of TypeORM and mysql2 this library touches, declared structurally so that neither the source nor the
 * compiled `.d.ts` depends on the optional `typeorm` / `mysql2` packages.
 */

/** A TypeORM `DataSource`, any driver. */
export interface DataSourceLike {
  readonly options: { readonly type: string; readonly [key: string]: unknown };
  /** The driver object (`MysqlDriver` for `mysql` / `mariadb`); see {@link MysqlDriverLike}. */
  readonly driver: unknown;
  readonly isInitialized?: boolean;
}

/** TypeORM's `MysqlDriver`: the mysql2 module it loaded and the pool it created on `initialize()`. */
export interface MysqlDriverLike {
  /** The driver package as TypeORM loaded it (`mysql2`, or `options.driver`). */
  readonly mysql?: Mysql2ModuleLike;
  /** The connection pool (non-replicated setups); `undefined` before `initialize()` and after `destroy()`. */
  readonly pool?: Mysql2PoolLike;
  /** The pool cluster (replicated setups). */
  readonly poolCluster?: unknown;
}

/** The mysql2 (callback API) module. */
export interface Mysql2ModuleLike {
  readonly Connection?: new (options: { config: object }) => Mysql2ConnectionLike;
}

/** A mysql2 pool: its public `config`; the private fields are read in `mysql2-pool.internals.ts` only. */
export interface Mysql2PoolLike {
  readonly config?: { readonly connectionConfig?: object; readonly connectionLimit?: number };
}

/** A mysql2 (callback API) connection. */
export interface Mysql2ConnectionLike {
  query(sql: string, callback: (error: Error | null, rows?: unknown) => void): unknown;
  destroy(): void;
  on(event: 'error' | 'end', listener: (error?: Error) => void): unknown;
}

/** TypeORM's `PostgresDriver`: the pg module it loaded and the pool it created on `initialize()`. */
export interface PostgresDriverLike {
  /** The driver package as TypeORM loaded it (`pg`, or `options.driver`). */
  readonly postgres?: PgModuleLike;
  /** The `pg.Pool` (the master of replicated setups); `undefined` before `initialize()`. */
  readonly master?: PgPoolLike | null;
}

/** The pg module. */
export interface PgModuleLike {
  readonly Client?: new (options: object) => PgClientLike;
}

/** A `pg.Pool`: its options (the client options it creates connections with) and its public counters. */
export interface PgPoolLike {
  readonly options?: object;
  readonly totalCount?: number;
  readonly idleCount?: number;
  readonly waitingCount?: number;
}

/** A `pg.Client`. */
export interface PgClientLike {
  connect(): Promise<unknown>;
  query(sql: string): Promise<{ rows: unknown[] }>;
  end(): Promise<unknown>;
  on(event: 'error', listener: (error: Error) => void): unknown;
}
