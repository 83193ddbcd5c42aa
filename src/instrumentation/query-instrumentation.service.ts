import { Inject, Injectable } from '@nestjs/common';
import type { OnApplicationBootstrap, OnModuleDestroy } from '@nestjs/common';
import { AppConnections } from '../connections/app-connections.service.js';
import type { ResolvedTraceOptions } from '../resolve-options.js';
import { TRACE_OPTIONS } from '../trace.tokens.js';
import { instrumentRedis } from './ioredis.instrumentation.js';
import { instrumentDataSource } from './typeorm.instrumentation.js';

/** Logged once when the app's Redis client auto-pipelines: those commands cannot be attributed to a trace. */
export const AUTO_PIPELINING_NOTE =
  'nestjs-trace: the Redis client uses enableAutoPipelining; commands it batches automatically are not recorded as spans (explicit pipeline() / multi() are)';

/**
 * Turns the SQL statements and Redis commands of the app's own DataSources (all of them) and ioredis client (found by
 * `AppConnections`) into child spans, per `instrument.typeorm` / `instrument.ioredis`. Installed at bootstrap,
 * removed on module destroy; an app without TypeORM or ioredis is left untouched.
 */
@Injectable()
export class QueryInstrumentationService implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly uninstalls: Array<() => void> = [];

  constructor(
    @Inject(TRACE_OPTIONS) private readonly options: ResolvedTraceOptions,
    @Inject(AppConnections) private readonly connections: AppConnections,
  ) {}

  onApplicationBootstrap(): void {
    const { instrument } = this.options;
    const { dataSources, redis } = this.connections;
    if (instrument.typeorm) {
      for (const dataSource of dataSources) this.uninstalls.push(instrumentDataSource(dataSource));
    }
    if (instrument.ioredis && redis) {
      this.uninstalls.push(instrumentRedis(redis, { keys: instrument.redisKeys }));
      if ((redis as { options?: { enableAutoPipelining?: unknown } }).options?.enableAutoPipelining === true) {
        this.options.logger.warn(AUTO_PIPELINING_NOTE);
      }
    }
  }

  onModuleDestroy(): void {
    for (const uninstall of this.uninstalls.splice(0)) uninstall();
  }
}
