import 'reflect-metadata';
import { Controller, Get, Injectable, Module } from '@nestjs/common';
import type { INestApplication } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { InjectDataSource, InjectRepository, TypeOrmModule } from '@nestjs/typeorm';
import { Registry } from 'prom-client';
import request from 'supertest';
import { Column, DataSource, Entity, In, PrimaryColumn, Repository } from 'typeorm';
import { Trace, TraceModule } from '../../../src/index.js';
import { formatText } from '../../../src/report/text-format.js';
import type { TraceRecord } from '../../../src/trace.types.js';
import { ReportCapture, sleep } from '../../support/report-capture.js';
import { MYSQL_URL, POSTGRES_URL, RUN_ID } from './helpers/traces.js';

const capture = new ReportCapture();
const registry = new Registry();
const IDS = [1, 2, 3, 4, 5, 6, 7, 8];

@Entity({ name: `${RUN_ID}_my_player` })
class MyPlayer {
  @PrimaryColumn({ type: 'int' })
  id!: number;

  @Column({ type: 'varchar', length: 50 })
  name!: string;
}

@Entity({ name: `${RUN_ID}_pg_player` })
class PgPlayer {
  @PrimaryColumn({ type: 'int' })
  id!: number;

  @Column({ type: 'varchar', length: 50 })
  name!: string;
}

/** A traced repository: each call is a span of its own, its statement below it. */
@Trace()
@Injectable()
class PlayerLookup {
  constructor(@InjectRepository(PgPlayer, 'pg') private readonly pgPlayers: Repository<PgPlayer>) {}

  byId(id: number): Promise<PgPlayer | null> {
    return this.pgPlayers.findOneBy({ id });
  }
}

@Trace()
@Injectable()
class PlayerService {
  constructor(
    private readonly lookup: PlayerLookup,
    @InjectRepository(MyPlayer) private readonly mysqlPlayers: Repository<MyPlayer>,
    @InjectRepository(PgPlayer, 'pg') private readonly pgPlayers: Repository<PgPlayer>,
    @InjectDataSource('pg') private readonly pg: DataSource,
  ) {}

  /** The N+1 way, one after another, on MySQL. */
  async listSequential(): Promise<number> {
    let found = 0;
    for (const id of IDS) if (await this.mysqlPlayers.findOneBy({ id })) found++;
    return found;
  }

  /** The N+1 way, all at once (`Promise.all` over the list), on PostgreSQL. */
  async listConcurrent(): Promise<number> {
    const players = await Promise.all(IDS.map((id) => this.pgPlayers.findOneBy({ id })));
    return players.filter(Boolean).length;
  }

  /** The layered N+1: a loop of calls to a traced repository method, one statement each. */
  async listViaLookup(): Promise<number> {
    let found = 0;
    for (const id of IDS) if (await this.lookup.byId(id)) found++;
    return found;
  }

  /** Batches in a loop (chunks of `IN (…)`, multi-row INSERTs) and a short loop under the threshold: no finding. */
  async batched(): Promise<number> {
    let found = 0;
    for (let chunk = 0; chunk < 6; chunk++)
      found += (await this.pgPlayers.findBy({ id: In([chunk, chunk + 1]) })).length;
    for (let chunk = 0; chunk < 6; chunk++) {
      const base = 1000 + chunk * 2;
      await this.pgPlayers.insert([
        { id: base, name: 'a' },
        { id: base + 1, name: 'b' },
      ]);
    }
    for (const id of IDS.slice(0, 4)) await this.pgPlayers.findOneBy({ id });
    return found;
  }

  /** Six slow statements on a pool of two. */
  async burst(): Promise<void> {
    await Promise.all([1, 2, 3, 4, 5, 6].map(() => this.pg.query('SELECT pg_sleep(0.3)')));
  }

  /** One statement on each database. */
  async both(): Promise<void> {
    await this.mysqlPlayers.findOneBy({ id: 1 });
    await this.pgPlayers.findOneBy({ id: 1 });
    await sleep(650);
  }
}

@Controller('players')
class PlayerController {
  constructor(private readonly players: PlayerService) {}

  @Get('sequential')
  sequential(): Promise<number> {
    return this.players.listSequential();
  }
  @Get('concurrent')
  concurrent(): Promise<number> {
    return this.players.listConcurrent();
  }
  @Get('via-lookup')
  viaLookup(): Promise<number> {
    return this.players.listViaLookup();
  }
  @Get('batched')
  batched(): Promise<number> {
    return this.players.batched();
  }
  @Get('burst')
  burst(): Promise<void> {
    return this.players.burst();
  }
  @Get('both')
  both(): Promise<void> {
    return this.players.both();
  }
}

@Module({
  imports: [
    TypeOrmModule.forRoot({ type: 'mysql', url: MYSQL_URL, entities: [MyPlayer], synchronize: true, retryAttempts: 0 }),
    TypeOrmModule.forRoot({
      name: 'pg',
      type: 'postgres',
      url: POSTGRES_URL,
      entities: [PgPlayer],
      synchronize: true,
      retryAttempts: 0,
      poolSize: 2,
    }),
    TypeOrmModule.forFeature([MyPlayer]),
    TypeOrmModule.forFeature([PgPlayer], 'pg'),
    TraceModule.forRoot({
      format: 'json',
      stream: capture,
      slowThresholdMs: 600,
      prometheus: { registry },
      otel: { enabled: false },
    }),
  ],
  controllers: [PlayerController],
  providers: [PlayerService, PlayerLookup],
})
class DatabaseAppModule {}

describe('database depth in a Nest app with a MySQL and a PostgreSQL DataSource side by side', () => {
  let app: INestApplication;

  beforeAll(async () => {
    app = (await Test.createTestingModule({ imports: [DatabaseAppModule] }).compile()).createNestApplication({
      logger: false,
    });
    await app.init();
    const seed = IDS.map((id) => ({ id, name: `p${id}` }));
    await app.get(DataSource).getRepository(MyPlayer).save(seed);
    await app.get<DataSource>('pgDataSource').getRepository(PgPlayer).save(seed);
  });

  afterAll(async () => {
    await app.get(DataSource).query(`DROP TABLE IF EXISTS \`${RUN_ID}_my_player\``);
    await app.get<DataSource>('pgDataSource').query(`DROP TABLE IF EXISTS "${RUN_ID}_pg_player"`);
    await app.close();
  });

  beforeEach(() => capture.clear());

  const byRoute = (route: string) => (record: TraceRecord) => record.route === route;

  it('N+1, sequential on MySQL: a fast request is reported (outcome ok) with one finding, once per minute', async () => {
    await request(app.getHttpServer()).get('/players/sequential').expect(200, '8');
    const [report] = await capture.waitFor(byRoute('GET /players/sequential'));
    expect(report!.outcome).toBe('ok');
    expect(report!.findings).toEqual([
      {
        kind: 'n+1',
        parent: 'PlayerService.listSequential',
        statement: expect.stringMatching(/^SELECT .* WHERE .*`id` = \?/) as unknown,
        count: 8,
      },
    ]);
    expect(formatText(report!)).toContain('n+1 8× under PlayerService.listSequential: SELECT');
    // The same handler again within the minute: not reported a second time.
    await request(app.getHttpServer()).get('/players/sequential').expect(200);
    await sleep(300);
    expect(capture.reports.filter(byRoute('GET /players/sequential'))).toHaveLength(1);
  });

  it('N+1, concurrent (Promise.all) on PostgreSQL: one finding with the count', async () => {
    await request(app.getHttpServer()).get('/players/concurrent').expect(200, '8');
    const [report] = await capture.waitFor(byRoute('GET /players/concurrent'));
    expect(report!.outcome).toBe('ok');
    expect(report!.findings).toEqual([
      {
        kind: 'n+1',
        parent: 'PlayerService.listConcurrent',
        statement: expect.stringMatching(/^SELECT .* WHERE .*"id" = \$1/) as unknown,
        count: 8,
      },
    ]);
    expect(report!.spans.filter((span) => span.system === 'postgresql')).toHaveLength(8);
  });

  it('N+1 through a traced repository method called in a loop: found under the caller, via the method', async () => {
    await request(app.getHttpServer()).get('/players/via-lookup').expect(200, '8');
    const [report] = await capture.waitFor(byRoute('GET /players/via-lookup'));
    expect(report!.findings).toEqual([
      {
        kind: 'n+1',
        parent: 'PlayerService.listViaLookup',
        via: 'PlayerLookup.byId',
        statement: expect.stringMatching(/^SELECT .* WHERE .*"id" = \$1/) as unknown,
        count: 8,
      },
    ]);
    expect(formatText(report!)).toMatch(/^n\+1 8× under PlayerService\.listViaLookup via PlayerLookup\.byId: SELECT/m);
  });

  it('batched statements in a loop (IN lists, multi-row INSERTs) and a loop under the threshold are no finding', async () => {
    await request(app.getHttpServer()).get('/players/batched').expect(200);
    await sleep(300);
    expect(capture.reports.filter(byRoute('GET /players/batched'))).toEqual([]);
  });

  it('pool wait on the PostgreSQL pool of 2: 4 statements carry poolWaitMs, the Prometheus histogram counts them', async () => {
    const waitCount = async (): Promise<number> =>
      Number(
        /nestjs_trace_db_pool_wait_seconds_count\{system="postgresql"\} (\d+)/.exec(await registry.metrics())?.[1] ?? 0,
      );
    const before = await waitCount();
    await request(app.getHttpServer()).get('/players/burst').expect(200);
    const [report] = await capture.waitFor(byRoute('GET /players/burst'));
    expect(report!.outcome).toBe('slow');
    const waits = report!.spans.flatMap((span) => (span.poolWaitMs === undefined ? [] : [span.poolWaitMs]));
    expect(waits).toHaveLength(4);
    for (const wait of waits) expect(wait).toBeGreaterThanOrEqual(250);
    expect((await waitCount()) - before).toBe(4);
    expect(await registry.metrics()).not.toContain('nestjs_trace_db_pool_wait_seconds_count{system="mysql"}');
  });

  it('both DataSources are recorded in one trace, and the snapshot has metrics.mysql and metrics.postgres', async () => {
    await request(app.getHttpServer()).get('/players/both').expect(200);
    const [report] = await capture.waitFor(byRoute('GET /players/both'));
    expect(report!.spans.map((span) => span.name)).toEqual([
      'PlayerController.both',
      'PlayerService.both',
      'mysql SELECT',
      'postgresql SELECT',
    ]);
    const metrics = report!.metrics!;
    expect(metrics.mysql).toMatchObject({ pool: { total: 10 }, server: { threadsConnected: expect.any(Number) } });
    expect(metrics.postgres).toMatchObject({
      pool: { total: expect.any(Number), idle: expect.any(Number), waiting: 0 },
      server: { connections: expect.any(Number), active: expect.any(Number) },
    });
  });
});
