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
  /** `REDIS_URL`, e.g. redis://127.0.0.1:6379; unset: an in-process room store. */
  redisUrl?: string;
  /** `TRACE_FORMAT=json`: one JSON line per report instead of the text tree. */
  format: 'text' | 'json';
  /** `SLOW_MS`, default 200: the trace threshold. */
  slowThresholdMs: number;
  /** How long the deliberately slow path (room names starting with "slow") takes, default 350 ms. */
  slowPathMs: number;
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
  const adminMode = env.ADMIN_MODE || 'production';
  if (adminMode !== 'development' && adminMode !== 'production')
    throw new Error(`ADMIN_MODE must be "development" or "production" (got ${JSON.stringify(adminMode)})`);
  return {
    port: positiveInt('PORT', env.PORT, 3000),
    host: env.HOST || '127.0.0.1',
    mysqlUrl: env.MYSQL_URL || (/^mysql:/.test(env.DATABASE_URL ?? '') ? env.DATABASE_URL : undefined),
    postgresUrl: /^postgres(ql)?:/.test(env.DATABASE_URL ?? '') ? env.DATABASE_URL : undefined,
    redisUrl: env.REDIS_URL || undefined,
    format,
    slowThresholdMs: positiveInt('SLOW_MS', env.SLOW_MS, 200),
    slowPathMs: positiveInt('SLOW_PATH_MS', env.SLOW_PATH_MS, 350),
    roomCapacity: positiveInt('ROOM_CAPACITY', env.ROOM_CAPACITY, 4),
    admin:
      env.ADMIN_USER && env.ADMIN_PASSWORD
        ? { username: env.ADMIN_USER, password: env.ADMIN_PASSWORD, mode: adminMode }
        : undefined,
  };
}
