import { Module } from '@nestjs/common';
import type { DynamicModule, Provider } from '@nestjs/common';
import { EventEmitterModule } from '@nestjs/event-emitter';
import { ScheduleModule } from '@nestjs/schedule';
import { TypeOrmModule } from '@nestjs/typeorm';
import type { Redis } from 'ioredis';
import { TraceModule } from '../../../src/index.js';
import type { GameServerConfig } from './config.js';
import { GameGateway } from './game.gateway.js';
import { GameLoop, World } from './game-loop.js';
import { GameService } from './game.service.js';
import { GAME_CONFIG } from './game.tokens.js';
import { MatchResults } from './match-results.js';
import { MetricsController } from './metrics.controller.js';
import { ensureMysqlDatabase } from './mysql-database.js';
import { Room } from './room.entity.js';
import { RoomEvents } from './room-events.js';
import { RoomRepository } from './room.repository.js';
import { MemoryRoomStore, RedisRoomStore, ROOM_STORE } from './room-store.js';
import { RoomsController } from './rooms.controller.js';

/** The game server, wired from a `GameServerConfig` (see `configFromEnv`). */
@Module({})
export class AppModule {
  static async register(config: GameServerConfig): Promise<DynamicModule> {
    if (config.mysqlUrl) await ensureMysqlDatabase(config.mysqlUrl);
    const database = config.postgresUrl
      ? TypeOrmModule.forRoot({
          type: 'postgres',
          url: config.postgresUrl,
          entities: [Room],
          synchronize: true,
          poolSize: 10,
          retryAttempts: 1,
        })
      : config.mysqlUrl
        ? TypeOrmModule.forRoot({
            type: 'mysql',
            url: config.mysqlUrl,
            entities: [Room],
            synchronize: true,
            poolSize: 10,
            // The database was checked just above: a later failure is not worth TypeORM's default 9 retries × 3 s.
            retryAttempts: 1,
          })
        : TypeOrmModule.forRoot({
            type: 'better-sqlite3',
            database: ':memory:',
            entities: [Room],
            synchronize: true,
            // An in-memory database that fails to open (e.g. better-sqlite3 built for another Node version) will not
            // open on a retry: fail at once instead of 9 retries 3 s apart.
            retryAttempts: 0,
          });
    const redisUrl = config.redisUrl;
    // Loaded only when used: the embedded default needs no Redis package (and Jest's ESM runtime cannot load this
    // CommonJS package, which requires the ESM-only @nestjs/common 12).
    const redis = redisUrl ? await import('@nestjs-modules/ioredis') : undefined;
    const store: Provider = redis
      ? {
          provide: ROOM_STORE,
          useFactory: (client: Redis) => new RedisRoomStore(client),
          inject: [redis.getRedisConnectionToken()],
        }
      : { provide: ROOM_STORE, useValue: new MemoryRoomStore() };
    // Match results through BullMQ, with Redis only; loaded the same way, so the embedded default needs no bullmq.
    const queue = redisUrl
      ? (await import('./match-queue.js')).matchQueue(redisUrl, config.queuePrefix ?? 'nestjs-trace-example')
      : undefined;
    const metrics = config.metrics !== false;
    return {
      module: AppModule,
      imports: [
        // The game tick (@Interval) and room.created listener (@OnEvent): traced with no code of their own.
        ScheduleModule.forRoot(),
        EventEmitterModule.forRoot(),
        database,
        TypeOrmModule.forFeature([Room]),
        ...(redis && redisUrl ? [redis.RedisModule.forRoot({ type: 'single', url: redisUrl })] : []),
        ...(queue?.imports ?? []),
        TraceModule.forRoot({
          slowThresholdMs: config.slowThresholdMs,
          format: config.format,
          // Handler histograms by outcome on GET /metrics (unless METRICS=off): the load script's count of SLOW and
          // ERROR reports.
          ...(metrics ? { prometheus: {} } : {}),
          ...(config.logger ? { logger: config.logger } : {}),
          ...(config.reportStream ? { stream: config.reportStream } : {}),
          // Off unless ADMIN_USER and ADMIN_PASSWORD are set; read-only; production mode (aggregated stats) unless
          // ADMIN_MODE=development. The UI's page is served by this app at /admin-ui/ (same origin: no CORS).
          ...(config.admin
            ? {
                socketIoAdmin: {
                  auth: { username: config.admin.username, password: config.admin.password },
                  mode: config.admin.mode,
                  serveUi: '/admin-ui',
                },
              }
            : {}),
        }),
      ],
      controllers: metrics ? [RoomsController, MetricsController] : [RoomsController],
      providers: [
        { provide: GAME_CONFIG, useValue: config },
        RoomRepository,
        store,
        GameService,
        GameGateway,
        World,
        GameLoop,
        RoomEvents,
        MatchResults,
        ...(queue?.providers ?? []),
      ],
    };
  }
}
