import 'reflect-metadata';
import { Column, DataSource, Entity, PrimaryGeneratedColumn, QueryFailedError } from 'typeorm';
import { Trace } from '../../../src/decorators/trace.decorator.js';
import { instrumentDataSource } from '../../../src/instrumentation/typeorm.instrumentation.js';
import { formatText } from '../../../src/report/text-format.js';
import { CaptureSink, POSTGRES_URL, RUN_ID, dbSpans, expectNested, secret, traced, tree } from './helpers/traces.js';

const PLAYERS = `${RUN_ID}_pg_player`;

@Entity({ name: PLAYERS })
class Player {
  @PrimaryGeneratedColumn({ type: 'int' })
  id!: number;

  @Column({ type: 'varchar', length: 100, unique: true })
  email!: string;

  @Column({ type: 'int', default: 0 })
  score!: number;
}

@Trace()
class PlayerService {
  constructor(private readonly dataSource: DataSource) {}

  async register(email: string): Promise<Player> {
    const repository = this.dataSource.getRepository(Player);
    await repository.findOneBy({ email });
    return repository.save(repository.create({ email }));
  }

  async reward(email: string): Promise<void> {
    await this.dataSource.transaction(async (manager) => {
      await manager.increment(Player, { email }, 'score', 10);
    });
  }

  async rawQueries(hidden: string): Promise<unknown> {
    await this.dataSource.query(`SELECT $1::text AS a, 'literal ${hidden}' AS b, 42 AS c`, [hidden]);
    return this.dataSource.query(`UPDATE "${PLAYERS}" SET score = score + 1 WHERE score >= 0`);
  }
}

describe('TypeORM (pg) statements as spans, real PostgreSQL', () => {
  let dataSource: DataSource;
  let service: PlayerService;
  let uninstall: () => void;
  const sink = new CaptureSink();

  beforeAll(async () => {
    dataSource = new DataSource({ type: 'postgres', url: POSTGRES_URL, entities: [Player], synchronize: true });
    await dataSource.initialize();
    uninstall = instrumentDataSource(dataSource);
    service = new PlayerService(dataSource);
    sink.install();
  });

  afterAll(async () => {
    sink.uninstall();
    uninstall();
    await dataSource.query(`DROP TABLE IF EXISTS "${PLAYERS}"`);
    await dataSource.destroy();
  });

  it('records find + save + a transaction as postgresql spans under the method that issued them', async () => {
    const email = `${secret('mail')}@example.com`;
    const { result, record } = await traced(sink, 'request', async () => {
      await service.register(email);
      await service.reward(email);
      return dataSource.getRepository(Player).findOneByOrFail({ email });
    });
    expect(result.score).toBe(10);
    expect(tree(record)).toEqual([
      'request',
      '  PlayerService.register',
      '    postgresql SELECT',
      '    transaction',
      '      postgresql START TRANSACTION',
      '      postgresql INSERT',
      '      postgresql COMMIT',
      '  PlayerService.reward',
      '    transaction',
      '      postgresql START TRANSACTION',
      '      postgresql UPDATE',
      '      postgresql COMMIT',
      '  postgresql SELECT',
    ]);
    expectNested(record);
    const spans = dbSpans(record);
    expect(spans.every((span) => span.system === 'postgresql')).toBe(true);
    // Placeholders kept, TypeORM's quoted identifiers kept, no value anywhere.
    expect(spans[0]!.statement).toMatch(
      new RegExp(`^SELECT .*FROM "${PLAYERS}" "Player" WHERE .*"Player"."email" = \\$1`),
    );
    expect(spans[0]!.rows).toBe(0);
    expect(spans[2]!.rows).toBe(1); // INSERT … RETURNING "id", "score"
    expect(spans[5]!.rows).toBe(1); // UPDATE: PostgresQueryRunner answers [rows, rowCount]
    expect(JSON.stringify(record)).not.toContain(email);
  });

  it('normalizes literals of raw statements to ? and counts rows of an UPDATE', async () => {
    const hidden = secret('raw');
    const { record } = await traced(sink, 'raw', () => service.rawQueries(hidden));
    const [select, update] = dbSpans(record);
    expect(select!.statement).toBe('SELECT $1::text AS a, ? AS b, ? AS c');
    expect(update!.name).toBe('postgresql UPDATE');
    expect(update!.statement).toBe(`UPDATE "${PLAYERS}" SET score = score + ? WHERE score >= ?`);
    expect(typeof update!.rows).toBe('number');
    expect(JSON.stringify(record)).not.toContain(hidden);
    expect(formatText(record)).toContain(`postgresql SELECT $1::text AS a, ? AS b, ? AS c`);
  });

  it('masks a failed statement: SQLSTATE code, quoted values masked, detail never shown; same error thrown', async () => {
    const email = `${secret('dup')}@example.com`;
    await service.register(email);
    let thrown: unknown;
    const { record } = await traced(sink, 'dup', async () => {
      try {
        await dataSource.query(`INSERT INTO "${PLAYERS}" (email) VALUES ($1)`, [email]);
      } catch (error) {
        thrown = error;
      }
    });
    expect(thrown).toBeInstanceOf(QueryFailedError);
    // The driver's detail holds the value: the report must not.
    expect((thrown as { detail?: string }).detail).toContain(email);
    const [insert] = dbSpans(record);
    expect(insert!.errorCode).toBe('23505');
    expect(insert!.error).toMatch(/^23505: duplicate key value violates unique constraint \?$/);
    expect(JSON.stringify(record)).not.toContain(email);
    expect(formatText(record)).not.toContain(email);
  });

  it('masks values pg quotes in the message itself (invalid input syntax)', async () => {
    const hidden = secret('cast');
    const { record } = await traced(sink, 'cast', async () => {
      await dataSource.query('SELECT $1::int AS n', [hidden]).catch(() => undefined);
    });
    const [select] = dbSpans(record);
    expect(select!.errorCode).toBe('22P02');
    expect(select!.error).toBe('22P02: invalid input syntax for type integer: ?');
    expect(JSON.stringify(record)).not.toContain(hidden);
  });
});
