/**
 * The few parts of an ioredis client (v5 and v6) this library touches, declared structurally so that neither the
 * source nor the compiled `.d.ts` depends on the optional `ioredis` package.
 */

/** An ioredis `Redis` (or `Cluster`) client. */
export interface RedisLike {
  /** `wait`, `connecting`, `connect`, `ready`, `reconnecting`, `close`, `end`. */
  readonly status: string;
  /** `true` on an ioredis `Cluster`. */
  readonly isCluster?: boolean;
  /** A new client with the same options, overridden by `override`. */
  duplicate(override?: Record<string, unknown>): RedisLike;
  connect(): Promise<unknown>;
  disconnect(reconnect?: boolean): void;
  info(...sections: string[]): Promise<unknown>;
  on(event: string, listener: (...args: unknown[]) => void): unknown;
}
