import { Test } from '@nestjs/testing';
import type { TestingModule } from '@nestjs/testing';
import { Inject, Injectable } from '@nestjs/common';
import type { DynamicModule, OnApplicationShutdown, Provider } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { Redis } from 'ioredis';
import { AppConnections } from '../../../../src/connections/app-connections.service.js';
import { MemoryMonitorService } from '../../../../src/metrics/memory-monitor.service.js';
import { SystemMetricsService } from '../../../../src/metrics/system-metrics.service.js';
import { resolveOptions } from '../../../../src/resolve-options.js';
import { TRACE_OPTIONS } from '../../../../src/trace.tokens.js';
import type { TraceModuleOptions } from '../../../../src/trace.options.js';

export interface MetricsAppOptions {
  /** TypeORM options (merged over `type: 'mysql'`); `false`: no TypeORM. */
  typeorm?: Record<string, unknown> | false;
  /** `@nestjs-modules/ioredis` URL and client options; `false`: no Redis. */
  redis?: { url: string; options?: Record<string, unknown> } | false;
  trace?: TraceModuleOptions;
  providers?: Provider[];
}

/**
 * The token `@nestjs-modules/ioredis` gives its default connection (`getRedisConnectionToken()`; pinned by
 * test/unit/metrics/nestjs-ioredis-token.spec.ts). That package is CommonJS and `require`s the ESM-only
 * `@nestjs/common` 12, which Jest's ESM runtime cannot do before Node 24.9 (plain Node 20.19+ can), so these tests
 * register the connection the way its `RedisModule.forRoot({ type: 'single', url })` does: `new Redis(url, options)`
 * under that token, quit on shutdown.
 */
export const NESTJS_IOREDIS_TOKEN = 'default_IORedisModuleConnectionToken';

@Injectable()
class RedisShutdown implements OnApplicationShutdown {
  constructor(@Inject(NESTJS_IOREDIS_TOKEN) private readonly client: Redis) {}

  async onApplicationShutdown(): Promise<void> {
    // As RedisCoreModule does. A client whose stream is already gone ('end') needs nothing: ioredis's disconnect()
    // would arm a 2 s timer that only the (already emitted) 'close' event clears.
    if (this.client.status === 'end') return;
    await this.client.quit().catch(() => this.client.disconnect());
  }
}

/** The library's metrics providers in a Nest testing app with a real TypeORM DataSource and ioredis client. */
export async function createMetricsApp(options: MetricsAppOptions): Promise<TestingModule> {
  const imports: DynamicModule[] = [];
  if (options.typeorm) {
    imports.push(TypeOrmModule.forRoot({ type: 'mysql', retryAttempts: 0, ...options.typeorm }));
  }
  const redisProviders: Provider[] = [];
  if (options.redis) {
    const { url, options: clientOptions } = options.redis;
    redisProviders.push(
      {
        provide: NESTJS_IOREDIS_TOKEN,
        useFactory: () => {
          const client = new Redis(url, clientOptions ?? {});
          // An app's own concern; without it ioredis prints every reconnection error of the fault tests.
          client.on('error', () => undefined);
          return client;
        },
      },
      RedisShutdown,
    );
  }
  const moduleRef = await Test.createTestingModule({
    imports,
    providers: [
      { provide: TRACE_OPTIONS, useValue: resolveOptions(options.trace ?? {}) },
      AppConnections,
      SystemMetricsService,
      MemoryMonitorService,
      ...redisProviders,
      ...(options.providers ?? []),
    ],
  }).compile();
  await moduleRef.init();
  return moduleRef;
}
