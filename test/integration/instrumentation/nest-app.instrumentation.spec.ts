import 'reflect-metadata';
import { Controller, Get, Inject, Injectable, Module, Param } from '@nestjs/common';
import type { DynamicModule, INestApplication, OnApplicationShutdown } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { TypeOrmModule } from '@nestjs/typeorm';
import { Redis } from 'ioredis';
import request from 'supertest';
import { DataSource } from 'typeorm';
import { Trace, TraceModule } from '../../../src/index.js';
import type { TraceModuleOptions } from '../../../src/index.js';
import { ReportCapture } from '../../support/report-capture.js';
import { MYSQL_URL, REDIS_URL, RUN_ID, secret } from './helpers/traces.js';

/** Reports reach the test through the library's output seam (`stream`), never through stdout. */
const capture = new ReportCapture();

/**
 * `@nestjs-modules/ioredis` is CommonJS and `require`s the ESM-only `@nestjs/common` 12, which Jest's ESM runtime
 * cannot load on Node 20: the client is registered the way its `RedisModule.forRoot({ type: 'single', url })` does,
 * under its default-connection token, which is what the library auto-detects.
 */
const NESTJS_IOREDIS_TOKEN = 'default_IORedisModuleConnectionToken';

@Injectable()
class RedisShutdown implements OnApplicationShutdown {
  constructor(@Inject(NESTJS_IOREDIS_TOKEN) private readonly redis: Redis) {}
  async onApplicationShutdown(): Promise<void> {
    await this.redis.quit();
  }
}

@Trace()
@Injectable()
class GameService {
  constructor(
    private readonly dataSource: DataSource,
    @Inject(NESTJS_IOREDIS_TOKEN) private readonly redis: Redis,
  ) {}

  async room(id: string): Promise<{ id: string; cached: string | null }> {
    const cached = await this.redis.get(`${RUN_ID}:room:${id}`);
    await this.dataSource.query(`SELECT ? AS id FROM DUAL WHERE ? <> ''`, [id, secret('param')]);
    await this.redis.set(`${RUN_ID}:room:${id}`, secret('value'));
    return { id, cached };
  }
}

@Controller('rooms')
class GameController {
  constructor(private readonly game: GameService) {}

  @Get(':id')
  room(@Param('id') id: string): Promise<{ id: string; cached: string | null }> {
    return this.game.room(id);
  }
}

function appModule(trace: TraceModuleOptions): DynamicModule {
  @Module({})
  class AppModule {}
  return {
    module: AppModule,
    imports: [
      TypeOrmModule.forRoot({ type: 'mysql', url: MYSQL_URL, retryAttempts: 0 }),
      TraceModule.forRoot({ stream: capture, ...trace }),
    ],
    controllers: [GameController],
    providers: [GameService, RedisShutdown, { provide: NESTJS_IOREDIS_TOKEN, useFactory: () => new Redis(REDIS_URL) }],
  };
}

async function start(trace: TraceModuleOptions): Promise<INestApplication> {
  const moduleRef = await Test.createTestingModule({ imports: [appModule(trace)] }).compile();
  const app = moduleRef.createNestApplication({ logger: false });
  await app.init();
  return app;
}

describe('a Nest app with TraceModule, TypeORM and ioredis: the provider instruments the app’s own connections', () => {
  afterAll(async () => {
    const redis = new Redis(REDIS_URL);
    const keys = await redis.keys(`${RUN_ID}:*`);
    if (keys.length > 0) await redis.del(...keys);
    await redis.quit();
  });

  beforeEach(() => capture.clear());

  it('SQL statements and Redis commands of a request are children of the service method, in the JSON report', async () => {
    const app = await start({ format: 'json', logAll: true });
    const dataSource = app.get(DataSource);
    const redis = app.get<Redis>(NESTJS_IOREDIS_TOKEN);
    try {
      await request(app.getHttpServer()).get('/rooms/42').expect(200, { id: '42', cached: null });
      const [report] = await capture.waitFor((record) => record.route === 'GET /rooms/:id');
      expect(report!.spans.map((span) => `${'  '.repeat(span.depth)}${span.name}`)).toEqual([
        'GameController.room',
        '  GameService.room',
        `    redis GET ${RUN_ID}:room:42`,
        '    mysql SELECT',
        `    redis SET ${RUN_ID}:room:42`,
      ]);
      expect(report!.spans[3]).toMatchObject({
        kind: 'db',
        system: 'mysql',
        statement: 'SELECT ? AS id FROM DUAL WHERE ? <> ?',
        rows: 1,
      });
      expect(capture.rawLines.join('')).not.toMatch(/S3cr3t_/);
    } finally {
      await app.close();
    }
    // Removed again on shutdown: the instances carry no wrapper any more.
    for (const method of ['sendCommand', 'pipeline', 'multi'])
      expect(Object.prototype.hasOwnProperty.call(redis, method)).toBe(false);
    expect(Object.prototype.hasOwnProperty.call(dataSource.driver, 'createQueryRunner')).toBe(false);
    expect(Object.prototype.hasOwnProperty.call(dataSource.manager, 'transaction')).toBe(false);
  });

  it('instrument: { typeorm: false, redisKeys: false } records Redis commands without keys and no SQL', async () => {
    const app = await start({ format: 'json', logAll: true, instrument: { typeorm: false, redisKeys: false } });
    try {
      await request(app.getHttpServer()).get('/rooms/7').expect(200);
      const [report] = await capture.waitFor((record) => record.route === 'GET /rooms/:id');
      expect(report!.spans.map((span) => span.name)).toEqual([
        'GameController.room',
        'GameService.room',
        'redis GET',
        'redis SET',
      ]);
    } finally {
      await app.close();
    }
  });

  it('a slow report of a TypeORM-on-MariaDB + ioredis app carries all five metric sections with real numbers', async () => {
    const app = await start({ format: 'json', slowThresholdMs: 0, hungThresholdMs: 0 });
    try {
      // The CPU and event-loop samplers need a moment of history after start-up (before it they say so).
      await new Promise((resolve) => setTimeout(resolve, 1200));
      await request(app.getHttpServer()).get('/rooms/5').expect(200);
      const [slow] = await capture.waitFor((record) => record.outcome === 'slow');
      const metrics = slow!.metrics!;
      expect(metrics.cpu).toMatchObject({ cores: expect.any(Number), processPercent: expect.any(Number) });
      expect(metrics.memory).toMatchObject({ process: { heapLimitMB: expect.any(Number) } });
      expect(metrics.eventLoop).toMatchObject({ delayP99Ms: expect.any(Number), utilization: expect.any(Number) });
      const mysql = metrics.mysql as { pool: { total: number; active: number }; server: { threadsConnected: number } };
      expect(mysql.pool.total).toBeGreaterThan(0);
      expect(mysql.pool.active).toBeGreaterThanOrEqual(0);
      expect(mysql.server.threadsConnected).toBeGreaterThanOrEqual(1);
      const redis = metrics.redis as { connectedClients: number; usedMemoryMB: number; commandQueueLength: number };
      expect(redis.connectedClients).toBeGreaterThanOrEqual(1);
      expect(redis.usedMemoryMB).toBeGreaterThan(0);
      expect(redis.commandQueueLength).toBe(0);
      const serialized = JSON.stringify(metrics);
      expect(serialized).not.toMatch(/mysql:\/\/|redis:\/\/|executable|config_file|addr=/);
    } finally {
      await app.close();
    }
  });
});
