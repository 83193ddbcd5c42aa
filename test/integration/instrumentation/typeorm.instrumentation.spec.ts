import 'reflect-metadata';
import { jest } from '@jest/globals';
import { Column, DataSource, Entity, PrimaryGeneratedColumn, QueryFailedError } from 'typeorm';
import { traceStorage } from '../../../src/context/trace-storage.js';
import { Trace } from '../../../src/decorators/trace.decorator.js';
import { instrumentDataSource } from '../../../src/instrumentation/typeorm.instrumentation.js';
import { formatText } from '../../../src/report/text-format.js';
import { CaptureSink, MYSQL_URL, RUN_ID, dbSpans, expectNested, secret, traced, tree } from './helpers/traces.js';
import { currentTrace } from '../../support/current-trace.js';
import { ActiveTrace } from '../../../src/context/active-trace.js';

const ROOMS = `${RUN_ID}_room`;

@Entity({ name: ROOMS })
class Room {
  @PrimaryGeneratedColumn({ type: 'int' })
  id!: number;

  @Column({ type: 'varchar', length: 100, unique: true })
  name!: string;

  @Column({ type: 'varchar', length: 100, default: '' })
  secret!: string;

  @Column({ type: 'int', default: 0 })
  score!: number;
}

@Trace()
class RoomService {
  constructor(private readonly dataSource: DataSource) {}

  /** find + save + a transaction + a raw query, the request. */
  async createRoom(name: string, hidden: string): Promise<number> {
    await this.dataSource.getRepository(Room).findOne({ where: { name } });
    await this.saveRoom(name, hidden);
    await this.dataSource.transaction(async (manager) => {
      await manager.increment(Room, { name }, 'score', 1);
      await this.touch(manager.connection, name);
    });
    const rows: Array<{ n: number | string }> = await this.dataSource.query(
      `SELECT COUNT(*) AS n FROM \`${ROOMS}\` WHERE secret = ?`,
      [hidden],
    );
    return Number(rows[0]?.n);
  }

  async saveRoom(name: string, hidden: string): Promise<Room> {
    const repository = this.dataSource.getRepository(Room);
    return repository.save(repository.create({ name, secret: hidden }));
  }

  /** Called inside the transaction callback: nests under the `transaction` span. */
  async touch(dataSource: DataSource, name: string): Promise<void> {
    await dataSource.getRepository(Room).findOneBy({ name });
  }

  async insertTwice(name: string): Promise<void> {
    await this.dataSource.query(`INSERT INTO \`${ROOMS}\` (name) VALUES (?)`, [name]);
    await this.dataSource.query(`INSERT INTO \`${ROOMS}\` (name) VALUES (?)`, [name]);
  }

  async tagged(index: number): Promise<number> {
    const rows: unknown[] = await this.dataSource.query(`SELECT ? AS \`trace_${index}\``, [index]);
    await this.dataSource.getRepository(Room).findOneBy({ name: `trace_${index}` });
    return rows.length;
  }
}

describe('TypeORM (mysql2) statements as spans, real MariaDB', () => {
  let dataSource: DataSource;
  let service: RoomService;
  let uninstall: () => void;
  const sink = new CaptureSink();
  const unhandled: unknown[] = [];
  const onUnhandled = (reason: unknown): void => {
    unhandled.push(reason);
  };

  beforeAll(async () => {
    process.on('unhandledRejection', onUnhandled);
    dataSource = new DataSource({
      type: 'mysql',
      url: MYSQL_URL,
      entities: [Room],
      synchronize: true,
      extra: { connectionLimit: 10 },
    });
    await dataSource.initialize();
    uninstall = instrumentDataSource(dataSource);
    service = new RoomService(dataSource);
    sink.install();
  });

  afterAll(async () => {
    sink.uninstall();
    uninstall();
    await dataSource.query(`DROP TABLE IF EXISTS \`${ROOMS}\``);
    await dataSource.destroy();
    process.off('unhandledRejection', onUnhandled);
    expect(unhandled).toEqual([]);
  });

  it('find + save + transaction + raw query: exactly those statements, in order, under the method that issued them', async () => {
    const hidden = secret('save');
    const { result, record } = await traced(sink, 'request', () => service.createRoom(`room_${RUN_ID}_a`, hidden));
    expect(result).toBe(1);
    expect(tree(record)).toEqual([
      'request',
      '  RoomService.createRoom',
      '    mysql SELECT',
      '    RoomService.saveRoom',
      '      transaction',
      '        mysql START TRANSACTION',
      '        mysql INSERT',
      '        mysql SELECT',
      '        mysql COMMIT',
      '    transaction',
      '      mysql START TRANSACTION',
      '      mysql UPDATE',
      '      RoomService.touch',
      '        mysql SELECT',
      '      mysql COMMIT',
      '    mysql SELECT',
    ]);
    const db = dbSpans(record);
    expect(db.every((span) => span.system === 'mysql')).toBe(true);
    expect(db.map((span) => span.statement)).toEqual([
      expect.stringMatching(new RegExp(`^SELECT .* FROM \`${ROOMS}\` .*WHERE .*LIMIT \\?$`)),
      'START TRANSACTION',
      expect.stringMatching(new RegExp(`^INSERT INTO \`${ROOMS}\``)),
      expect.stringMatching(/^SELECT .*score/), // TypeORM reloads the generated columns it saved
      'COMMIT',
      'START TRANSACTION',
      expect.stringMatching(new RegExp(`^UPDATE \`${ROOMS}\` SET .*score`)),
      expect.stringMatching(new RegExp(`^SELECT .* FROM \`${ROOMS}\``)),
      'COMMIT',
      `SELECT COUNT(*) AS n FROM \`${ROOMS}\` WHERE secret = ?`,
    ]);
    // Rows: SELECT → rows returned; INSERT / UPDATE → rows affected.
    expect(db[0]!.rows).toBe(0);
    expect(db[2]!.rows).toBe(1);
    expect(db[6]!.rows).toBe(1);
    expect(db[7]!.rows).toBe(1);
    expect(db[9]!.rows).toBe(1);
    expect(record.spans.some((span) => span.error !== undefined)).toBe(false);
    expectNested(record);
  });

  it('never records a value: a secret saved, queried and inlined as a literal appears nowhere in the JSON or text report', async () => {
    const saved = secret('saved');
    const param = secret('param');
    const literal = secret('literal');
    const { record } = await traced(sink, 'secrets', async () => {
      await service.saveRoom(`room_${RUN_ID}_s`, saved);
      await dataSource.query(`SELECT id FROM \`${ROOMS}\` WHERE secret IN (?, ?)`, [saved, param]);
      await dataSource.query(`SELECT id FROM \`${ROOMS}\` WHERE secret = '${literal}' OR name = "${literal}"`);
      await dataSource.createQueryBuilder(Room, 'r').where('r.secret = :s', { s: param }).getMany();
    });
    expect(dbSpans(record).length).toBeGreaterThanOrEqual(6);
    for (const text of [JSON.stringify(record), formatText(record)]) {
      expect(text).toContain(ROOMS);
      for (const value of [saved, param, literal]) expect(text).not.toContain(value);
    }
  });

  it('duplicate key: the span carries ER_DUP_ENTRY, and the caller gets the very error TypeORM threw', async () => {
    const name = secret('dup');
    let caught: unknown;
    const { record, context } = await traced(sink, 'duplicate', async () => {
      try {
        await service.insertTwice(name);
      } catch (error) {
        caught = error;
      }
    });
    expect(caught).toBeInstanceOf(QueryFailedError);
    expect((caught as { code?: string }).code).toBe('ER_DUP_ENTRY');
    const failing = record.spans.findIndex((span) => span.errorCode !== undefined);
    expect(record.spans[failing]).toMatchObject({
      kind: 'db',
      system: 'mysql',
      name: 'mysql INSERT',
      errorCode: 'ER_DUP_ENTRY',
    });
    // The span holds the thrown object itself: nothing was copied or re-wrapped on the way to the caller.
    expect(context.extras?.get(failing)?.error).toBe(caught);
    // The report masks the duplicate value the server quotes in its message.
    expect(record.spans[failing]!.error).toMatch(/^ER_DUP_ENTRY: Duplicate entry \? for key/);
    for (const text of [JSON.stringify(record), formatText(record)]) expect(text).not.toContain(name);
  });

  it('a failing statement with a secret parameter (RELIABILITY 41) leaks it nowhere', async () => {
    const value = secret('missing');
    let caught: unknown;
    const { record } = await traced(sink, 'missing-table', async () => {
      try {
        await dataSource.query(`SELECT ? FROM \`${RUN_ID}_no_such_table\``, [value]);
      } catch (error) {
        caught = error;
      }
    });
    expect((caught as { code?: string }).code).toBe('ER_NO_SUCH_TABLE');
    expect(dbSpans(record)[0]).toMatchObject({ errorCode: 'ER_NO_SUCH_TABLE' });
    for (const text of [JSON.stringify(record), formatText(record)]) expect(text).not.toContain(value);
  });

  it('a transaction that throws: rolled back, the transaction span failed, the same error reaches the caller', async () => {
    const failure = new Error('room is full');
    let caught: unknown;
    const { record } = await traced(sink, 'rollback', async () => {
      try {
        await dataSource.transaction(async (manager) => {
          await manager.query('SELECT 1');
          throw failure;
        });
      } catch (error) {
        caught = error;
      }
    });
    expect(caught).toBe(failure);
    expect(tree(record)).toEqual([
      'rollback',
      '  transaction',
      '    mysql START TRANSACTION',
      '    mysql SELECT',
      '    mysql ROLLBACK',
    ]);
    expect(record.spans[1]).toMatchObject({ name: 'transaction', error: 'room is full' });
  });

  it('a query runner used by hand: its transaction is a span, its statements under it', async () => {
    const { record } = await traced(sink, 'runner', async () => {
      const runner = dataSource.createQueryRunner();
      try {
        await runner.connect();
        await runner.startTransaction();
        await runner.query('SELECT 1 AS one');
        await runner.manager.findOneBy(Room, { name: 'nobody' });
        await runner.rollbackTransaction();
        await runner.query('SELECT 2 AS two');
      } finally {
        await runner.release();
      }
    });
    expect(tree(record)).toEqual([
      'runner',
      '  transaction',
      '    mysql START TRANSACTION',
      '    mysql SELECT',
      '    mysql SELECT',
      '    mysql ROLLBACK',
      '  mysql SELECT',
    ]);
    expect(record.spans[1]).toMatchObject({ error: 'rolled back' });
    expectNested(record);
  });

  it('query builder stream: one span from the query until mysql2 ends it', async () => {
    await service.saveRoom(`room_${RUN_ID}_stream`, '');
    const { record } = await traced(sink, 'stream', async () => {
      const stream = await dataSource.createQueryBuilder(Room, 'r').stream();
      let count = 0;
      for await (const row of stream) {
        void row;
        count++;
      }
      expect(count).toBeGreaterThan(0);
    });
    expect(tree(record)).toEqual(['stream', '  mysql SELECT']);
    expect(record.spans[1]!.statement).toMatch(new RegExp(`FROM \`${ROOMS}\``));
    expect(record.spans[1]!.unfinished).toBeUndefined();
    expectNested(record);
  });

  it('100 concurrent traces on a 10-connection pool: every statement lands in its own trace', async () => {
    const runs = await Promise.all(
      Array.from({ length: 100 }, (_, index) =>
        traced(sink, `concurrent_${index}`, async () => {
          const count = await service.tagged(index);
          // After awaiting the pool, the code still runs in its own trace.
          expect(currentTrace()?.origin.handlerName).toBe(`concurrent_${index}`);
          return count;
        }),
      ),
    );
    runs.forEach(({ record, result }, index) => {
      expect(result).toBe(1);
      expect(tree(record)).toEqual([
        `concurrent_${index}`,
        '  RoomService.tagged',
        '    mysql SELECT',
        '    mysql SELECT',
      ]);
      const [first] = dbSpans(record);
      expect(first!.statement).toBe(`SELECT ? AS \`trace_${index}\``);
      expect(JSON.stringify(record.spans)).not.toMatch(new RegExp(`trace_(?!${index}\\b)\\d+`));
    });
  });

  it('outside a trace nothing is recorded and no span is opened', async () => {
    const openSpan = jest.spyOn(ActiveTrace.prototype, 'openSpan');
    try {
      const before = sink.finishedContexts.length;
      await service.saveRoom(`room_${RUN_ID}_outside`, secret('outside'));
      await dataSource.query('SELECT 1');
      await dataSource.transaction((manager) => manager.query('SELECT 1'));
      expect(traceStorage.getStore()).toBeUndefined();
      expect(openSpan).not.toHaveBeenCalled();
      expect(sink.finishedContexts.length).toBe(before);
    } finally {
      openSpan.mockRestore();
    }
  });

  it('pins the TypeORM internals it hooks: createQueryRunner on the driver, statements through runner.query', async () => {
    const driver = dataSource.driver as unknown as Record<string, unknown>;
    const runner = dataSource.createQueryRunner();
    try {
      const prototype = Object.getPrototypeOf(runner) as Record<string, unknown>;
      for (const method of ['query', 'stream', 'startTransaction', 'commitTransaction', 'rollbackTransaction']) {
        expect(typeof prototype[method]).toBe('function');
      }
      expect(Object.prototype.hasOwnProperty.call(driver, 'createQueryRunner')).toBe(true);
      // The runner wrappers (on the runner class's prototype) find the installation through the runner's driver.
      expect((runner as unknown as { driver?: unknown }).driver).toBe(dataSource.driver);
      // startTransaction / commit / rollback send their SQL through `this.query` (TypeORM 0.3 and 1.x).
      const sent: unknown[] = [];
      const query = prototype.query as (this: unknown, sql: string) => Promise<unknown>;
      Object.defineProperty(runner, 'query', {
        configurable: true,
        value: function (this: unknown, sql: string) {
          sent.push(sql);
          return query.call(this, sql);
        },
      });
      await runner.startTransaction();
      await runner.commitTransaction();
      expect(sent).toEqual(['START TRANSACTION', 'COMMIT']);
    } finally {
      await runner.release();
    }
  });

  it('uninstall restores the original methods and stops recording; a second install is counted, not doubled', async () => {
    const own = new DataSource({ type: 'mysql', url: MYSQL_URL, entities: [Room] });
    await own.initialize();
    try {
      const driver = own.driver as unknown as Record<string, unknown>;
      const manager = own.manager as unknown as Record<string, unknown>;
      const originals = { createQueryRunner: driver.createQueryRunner, transaction: manager.transaction };
      const first = instrumentDataSource(own);
      const second = instrumentDataSource(own);
      expect(driver.createQueryRunner).not.toBe(originals.createQueryRunner);
      const wrapped = driver.createQueryRunner;
      const once = await traced(sink, 'twice-installed', () => own.query('SELECT 1'));
      expect(tree(once.record)).toEqual(['twice-installed', '  mysql SELECT']);
      first();
      first();
      expect(driver.createQueryRunner).toBe(wrapped);
      second();
      expect(driver.createQueryRunner).toBe(originals.createQueryRunner);
      expect(manager.transaction).toBe(originals.transaction);
      expect(Object.prototype.hasOwnProperty.call(manager, 'transaction')).toBe(false);
      const after = await traced(sink, 'uninstalled', async () => {
        await own.query('SELECT 1');
        await own.transaction((m) => m.query('SELECT 1'));
      });
      expect(tree(after.record)).toEqual(['uninstalled']);
      const runner = own.createQueryRunner();
      expect(Object.prototype.hasOwnProperty.call(runner, 'query')).toBe(false);
      await runner.release();
    } finally {
      await own.destroy();
    }
  });

  it('two DataSources share the runner prototype: each is recorded while installed, and not after its uninstall', async () => {
    const first = new DataSource({ type: 'mysql', url: MYSQL_URL, entities: [Room] });
    const second = new DataSource({ type: 'mysql', url: MYSQL_URL, entities: [Room] });
    await Promise.all([first.initialize(), second.initialize()]);
    const prototype = Object.getPrototypeOf(first.createQueryRunner()) as Record<string, unknown>;
    // This suite's own DataSource is instrumented too, so the prototype may carry the wrappers already.
    const before = prototype.query;
    try {
      const undoFirst = instrumentDataSource(first);
      const undoSecond = instrumentDataSource(second);
      const both = await traced(sink, 'both', async () => {
        await first.query('SELECT 1');
        await second.query('SELECT 2');
      });
      expect(tree(both.record)).toEqual(['both', '  mysql SELECT', '  mysql SELECT']);
      undoFirst();
      const one = await traced(sink, 'second only', async () => {
        await first.query('SELECT 1');
        await second.query('SELECT 2');
      });
      expect(one.record.spans.map((span) => span.statement ?? span.name)).toEqual(['second only', 'SELECT ?']);
      undoSecond();
      expect(prototype.query).toBe(before);
      const none = await traced(sink, 'none', () => second.query('SELECT 2'));
      expect(tree(none.record)).toEqual(['none']);
    } finally {
      await Promise.all([first.destroy(), second.destroy()]);
    }
  });

  it('a non-MySQL DataSource is left untouched', () => {
    const sqlite = { options: { type: 'sqlite' }, driver: { createQueryRunner: () => ({}) } };
    const before = sqlite.driver.createQueryRunner;
    const undo = instrumentDataSource(sqlite);
    expect(sqlite.driver.createQueryRunner).toBe(before);
    undo();
  });

  it('keeps statement spans in the right trace when the pool has one connection (RELIABILITY 17)', async () => {
    const single = new DataSource({ type: 'mysql', url: MYSQL_URL, extra: { connectionLimit: 1 } });
    await single.initialize();
    const undo = instrumentDataSource(single);
    try {
      let insideCallback: string | undefined = 'not called';
      const [a, b] = await Promise.all([
        traced(sink, 'A', () => single.query('SELECT SLEEP(0.3) AS slept')),
        traced(sink, 'B', async () => {
          await new Promise((resolve) => setTimeout(resolve, 20));
          // Queued behind A's SLEEP on the only connection: mysql2 calls back when A releases it.
          const pool = (
            single.driver as unknown as {
              pool: { getConnection(cb: (error: unknown, c: { release(): void }) => void): void };
            }
          ).pool;
          await new Promise<void>((resolve) => {
            pool.getConnection((error, connection) => {
              insideCallback = currentTrace()?.origin.handlerName;
              connection.release();
              resolve();
            });
          });
          expect(currentTrace()?.origin.handlerName).toBe('B');
          await single.query('SELECT 1 AS b');
          expect(currentTrace()?.origin.handlerName).toBe('B');
        }),
      ]);
      expect(tree(a.record)).toEqual(['A', '  mysql SELECT']);
      expect(tree(b.record)).toEqual(['B', '  mysql SELECT']);
      expect(a.record.spans[1]!.durationMs).toBeGreaterThanOrEqual(250);
      // Driver behaviour, pinned for the installed mysql2 (DataDog/dd-trace-js#8826): a queued getConnection callback
      // runs in the context of the query that released the connection — A's. The library never reads the context
      // in driver callbacks, which is why B's statement above still landed in B. If this changes, update the docs.
      expect(insideCallback).toBe('A');
    } finally {
      undo();
      await single.destroy();
    }
  });
});
