import type { LoggerService } from '@nestjs/common';

/** Everything the example reads from the environment, in one place. */
export interface GameServerConfig {
  /** `PORT`, default 3000 (0: any free port). */
  port: number;
  /** `HOST`, default 127.0.0.1 (loopback only). */
  host: string;
  /** `MYSQL_URL`, e.g. mysql://root@127.0.0.1:3306/test; unset: SQLite in memory. */
  mysqlUrl?: string;
  /**
   * `DATABASE_URL=postgres://user:pass@host:5432/db`: PostgreSQL instead (a `mysql://` DATABASE_URL is taken as
   * `MYSQL_URL`).
   */
  postgresUrl?: string;
  /**
   * `REDIS_URL`, e.g. redis://127.0.0.1:6379: rooms in Redis, and match results go through a BullMQ queue (transport
   * `queue` in reports); unset: an in-process room store, and results are settled in the `finishMatch` call itself.
   */
  redisUrl?: string;
  /**
   * `QUEUE_PREFIX`, default `nestjs-trace-example`: BullMQ's key prefix for the match-results queue (a test gives
   * its own, so runs sharing one Redis never take each other's jobs).
   */
  queuePrefix?: string;
  /** `TRACE_FORMAT=json`: one JSON line per report instead of the text tree. */
  format: 'text' | 'json';
  /** `SLOW_MS`, default 200: the trace threshold. */
  slowThresholdMs: number;
  /** How long the deliberately slow path (room names starting with "slow") takes, default 350 ms. */
  slowPathMs: number;
  /**
   * `BLOCK_PATH_MS`, default 500: how long the deliberately blocking path (room names starting with "huge") keeps the
   * event loop busy. Above twice the stall watchdog's 200 ms threshold, so the stack is read while it still blocks.
   */
  blockPathMs?: number;
  /**
   * `METRICS=off` turns off the Prometheus histograms and `GET /metrics` (default `on`: the load script counts the
   * server's SLOW and ERROR reports there).
   */
  metrics?: boolean;
  /** Players per room, default 4: joining a full room is the failing path. */
  roomCapacity: number;
  /**
   * `ADMIN_USER` + `ADMIN_PASSWORD`: turn on the Socket.IO admin UI; `ADMIN_MODE=development` for its per-socket
   * details (default `production`: aggregated stats only).
   */
  admin?: { username: string; password: string; mode: 'development' | 'production' };
  /** Where text reports go (tests capture them); default Nest's logger. */
  logger?: LoggerService;
  /** Where JSON reports go (the soak script counts them there); default stdout. */
  reportStream?: { write(line: string): unknown };
}

/** See `GameServerConfig.blockPathMs`. */
export const DEFAULT_BLOCK_PATH_MS = 500;

function positiveInt(name: string, value: string | undefined, fallback: number): number {
  if (value === undefined || value === '') return fallback;
  const parsed = Number(value);
  if (!Number.isInteger(parsed) || parsed < 0)
    throw new Error(`${name} must be a non-negative integer (got ${JSON.stringify(value)})`);
  return parsed;
}

export function configFromEnv(env: NodeJS.ProcessEnv = process.env): GameServerConfig {
  const format = env.TRACE_FORMAT ?? 'text';
  if (format !== 'text' && format !== 'json')
    throw new Error(`TRACE_FORMAT must be "text" or "json" (got ${JSON.stringify(format)})`);
  const metrics = env.METRICS || 'on';
  if (metrics !== 'on' && metrics !== 'off')
    throw new Error(`METRICS must be "on" or "off" (got ${JSON.stringify(metrics)})`);
  const adminMode = env.ADMIN_MODE || 'production';
  if (adminMode !== 'development' && adminMode !== 'production')
    throw new Error(`ADMIN_MODE must be "development" or "production" (got ${JSON.stringify(adminMode)})`);
  return {
    port: positiveInt('PORT', env.PORT, 3000),
    host: env.HOST || '127.0.0.1',
    mysqlUrl: env.MYSQL_URL || (/^mysql:/.test(env.DATABASE_URL ?? '') ? env.DATABASE_URL : undefined),
    postgresUrl: /^postgres(ql)?:/.test(env.DATABASE_URL ?? '') ? env.DATABASE_URL : undefined,
    redisUrl: env.REDIS_URL || undefined,
    queuePrefix: env.QUEUE_PREFIX || undefined,
    format,
    slowThresholdMs: positiveInt('SLOW_MS', env.SLOW_MS, 200),
    slowPathMs: positiveInt('SLOW_PATH_MS', env.SLOW_PATH_MS, 350),
    blockPathMs: positiveInt('BLOCK_PATH_MS', env.BLOCK_PATH_MS, DEFAULT_BLOCK_PATH_MS),
    metrics: metrics === 'on',
    roomCapacity: positiveInt('ROOM_CAPACITY', env.ROOM_CAPACITY, 4),
    admin:
      env.ADMIN_USER && env.ADMIN_PASSWORD
        ? { username: env.ADMIN_USER, password: env.ADMIN_PASSWORD, mode: adminMode }
        : undefined,
  };
}
