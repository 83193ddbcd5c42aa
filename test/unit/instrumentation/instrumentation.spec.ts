import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { TraceContext } from '../../../src/context/trace-context.js';
import { instrumentRedis } from '../../../src/instrumentation/ioredis.instrumentation.js';
import { instrumentDataSource } from '../../../src/instrumentation/typeorm.instrumentation.js';
import { wrapMethod } from '../../../src/instrumentation/wrap-method.util.js';
import { CaptureSink } from '../../support/capture-sink.js';
import { ActiveTrace } from '../../../src/context/active-trace.js';

type Callback = (...args: unknown[]) => unknown;

/** A query runner shaped like TypeORM's: methods on the prototype, `this.query` used by the transaction methods. */
class FakeRunner {
  isTransactionActive = false;
  transactionDepth = 0;
  constructor(
    private readonly answer: (sql: string) => unknown,
    readonly driver: object,
  ) {}
  async query(sql: string): Promise<unknown> {
    await Promise.resolve();
    const answer = this.answer(sql);
    if (answer instanceof Error) throw answer;
    return answer;
  }
  stream(sql: string, _parameters: unknown, onEnd?: Callback, onError?: Callback): Promise<object> {
    void sql;
    setTimeout(
      () =>
        sql.includes('FAIL')
          ? onError?.(Object.assign(new Error('boom'), { code: 'ER_QUERY_INTERRUPTED' }))
          : onEnd?.(),
      5,
    );
    return Promise.resolve({});
  }
  async startTransaction(): Promise<void> {
    this.isTransactionActive = true;
    await this.query(this.transactionDepth === 0 ? 'START TRANSACTION' : `SAVEPOINT typeorm_${this.transactionDepth}`);
    this.transactionDepth++;
  }
  async commitTransaction(): Promise<void> {
    await this.query(this.transactionDepth > 1 ? `RELEASE SAVEPOINT typeorm_${this.transactionDepth - 1}` : 'COMMIT');
    this.transactionDepth--;
    if (this.transactionDepth === 0) this.isTransactionActive = false;
  }
  async rollbackTransaction(): Promise<void> {
    await this.query(
      this.transactionDepth > 1 ? `ROLLBACK TO SAVEPOINT typeorm_${this.transactionDepth - 1}` : 'ROLLBACK',
    );
    this.transactionDepth--;
    if (this.transactionDepth === 0) this.isTransactionActive = false;
  }
}

class FakeDriver {
  constructor(private readonly answer: (sql: string) => unknown) {}
  createQueryRunner(): FakeRunner {
    return new FakeRunner(this.answer, this);
  }
}

function fakeDataSource(answer: (sql: string) => unknown): { options: { type: string }; driver: FakeDriver } {
  return { options: { type: 'mysql' }, driver: new FakeDriver(answer) };
}

describe('instrumentation without servers', () => {
  const sink = new CaptureSink();
  beforeAll(() => sink.install());
  afterAll(() => sink.uninstall());

  const lastTrace = (): ActiveTrace => sink.finishedContexts[sink.finishedContexts.length - 1]!;
  const names = (context: ActiveTrace): string[] =>
    context.names.slice(0, context.count).map((name, i) => `${'  '.repeat(context.spanDepth(i))}${name}`);

  describe('wrapMethod', () => {
    it('restores a prototype method by deleting its own property, and an own one by putting it back', () => {
      class Target {
        run(): string {
          return 'proto';
        }
      }
      const target = new Target() as Target & { own?: () => string };
      target.own = () => 'own';
      const undoProto = wrapMethod<() => string>(target, 'run', (original) => () => `wrapped ${original.call(target)}`);
      const undoOwn = wrapMethod<() => string>(target, 'own', (original) => () => `wrapped ${original()}`);
      expect(target.run()).toBe('wrapped proto');
      expect(target.own()).toBe('wrapped own');
      expect(Object.keys(target)).toEqual(['own']); // the wrapper is not enumerable where it was not before
      undoProto();
      undoOwn();
      expect(Object.prototype.hasOwnProperty.call(target, 'run')).toBe(false);
      expect(target.run()).toBe('proto');
      expect(target.own()).toBe('own');
    });

    it('leaves a wrapper someone put on top of ours in place', () => {
      const target = { run: (): string => 'a' };
      const undo = wrapMethod<() => string>(target, 'run', () => () => 'ours');
      const theirs = (): string => 'theirs';
      target.run = theirs;
      undo();
      expect(target.run).toBe(theirs);
    });
  });

  describe('TypeORM query runners', () => {
    it('records rows from a structured QueryResult, savepoints inside a runner transaction, and the stream span until onEnd', async () => {
      const dataSource = fakeDataSource((sql) =>
        sql === 'SELECT structured' ? { raw: [{}, {}], records: [{}, {}] } : { affectedRows: 0 },
      );
      const undo = instrumentDataSource(dataSource);
      try {
        await TraceContext.run('runner', async () => {
          const runner = dataSource.driver.createQueryRunner();
          await runner.startTransaction();
          await runner.startTransaction();
          await runner.query('SELECT structured');
          await runner.commitTransaction();
          await runner.commitTransaction();
          await runner.stream('SELECT streamed', [], undefined, undefined);
          await new Promise((resolve) => setTimeout(resolve, 20));
        });
        const context = lastTrace();
        expect(names(context)).toEqual([
          'runner',
          '  transaction',
          '    mysql',
          '    mysql',
          '    mysql',
          '    mysql',
          '    mysql',
          '  mysql',
        ]);
        expect(context.extras?.get(4)?.db).toEqual({ system: 'mysql', statement: 'SELECT structured', rows: 2 });
        expect(context.extras?.get(1)?.errored).toBeUndefined();
        expect(Number.isNaN(context.spanEnd(7))).toBe(false);
      } finally {
        undo();
      }
    });

    it('a stream failing in mysql2 ends its span with the error code; the caller’s own onError still runs', async () => {
      const dataSource = fakeDataSource(() => ({}));
      const undo = instrumentDataSource(dataSource);
      const seen: unknown[] = [];
      try {
        await TraceContext.run('stream-error', async () => {
          await dataSource.driver.createQueryRunner().stream('SELECT FAIL', [], undefined, (error) => seen.push(error));
          await new Promise((resolve) => setTimeout(resolve, 20));
        });
        const context = lastTrace();
        expect(seen).toHaveLength(1);
        expect(context.extras?.get(1)?.db?.errorCode).toBe('ER_QUERY_INTERRUPTED');
        expect(context.extras?.get(1)?.error).toBe(seen[0]);
      } finally {
        undo();
      }
    });

    it('a hostile error (throwing getters) is rethrown as is and recorded without a code', async () => {
      const hostile = new Proxy(new Error('x'), {
        get(target, property) {
          if (property === 'code' || property === 'driverError') throw new Error('trap');
          return Reflect.get(target, property) as unknown;
        },
      });
      const dataSource = fakeDataSource(() => hostile);
      const undo = instrumentDataSource(dataSource);
      try {
        let caught: unknown;
        await TraceContext.run('hostile', async () => {
          caught = await dataSource.driver
            .createQueryRunner()
            .query('SELECT 1')
            .catch((error: unknown) => error);
        });
        expect(caught).toBe(hostile);
        const context = lastTrace();
        expect(context.extras?.get(1)?.errored).toBe(true);
        expect(context.extras?.get(1)?.db?.errorCode).toBeUndefined();
      } finally {
        undo();
      }
    });

    it('wraps the runner prototype once for all DataSources, and puts the original back when the last one uninstalls', async () => {
      const original = FakeRunner.prototype.query;
      const first = fakeDataSource(() => [{ n: 1 }]);
      const second = fakeDataSource(() => [{ n: 2 }]);
      const undoFirst = instrumentDataSource(first);
      const undoSecond = instrumentDataSource(second);
      const runner = first.driver.createQueryRunner();
      expect(FakeRunner.prototype.query).not.toBe(original);
      expect(Object.prototype.hasOwnProperty.call(runner, 'query')).toBe(false); // nothing put on the runner itself
      await TraceContext.run('both', async () => {
        await runner.query('SELECT 1');
        await second.driver.createQueryRunner().query('SELECT 2');
      });
      expect(lastTrace().count).toBe(3);
      undoFirst();
      expect(FakeRunner.prototype.query).not.toBe(original);
      await TraceContext.run('second only', async () => {
        await runner.query('SELECT 1'); // a runner of the uninstalled DataSource passes through
        await second.driver.createQueryRunner().query('SELECT 2');
      });
      expect(lastTrace().count).toBe(2);
      undoSecond();
      expect(FakeRunner.prototype.query).toBe(original);
      expect(FakeRunner.prototype.startTransaction).not.toBe(undefined);
      await TraceContext.run('none', () => first.driver.createQueryRunner().query('SELECT 1'));
      expect(lastTrace().count).toBe(1);
    });

    it('a runner subclass inherits the wrappers of its patched parent and is not wrapped twice', async () => {
      class SubRunner extends FakeRunner {}
      const base = fakeDataSource(() => [{ n: 1 }]);
      const sub = {
        options: { type: 'mysql' },
        driver: { createQueryRunner: () => new SubRunner(() => [{ n: 2 }], sub.driver) },
      };
      const undoBase = instrumentDataSource(base);
      const undoSub = instrumentDataSource(sub);
      base.driver.createQueryRunner(); // patches FakeRunner.prototype first
      await TraceContext.run('sub', () => sub.driver.createQueryRunner().query('SELECT 2'));
      expect(lastTrace().count).toBe(2); // the root and one statement, not two
      expect(Object.prototype.hasOwnProperty.call(SubRunner.prototype, 'query')).toBe(false);
      undoSub();
      undoBase();
    });

    it('beyond maxSpans nothing is recorded, the statement still runs and is counted as dropped', async () => {
      const small = new CaptureSink(2).install();
      const dataSource = fakeDataSource(() => [{ one: 1 }]);
      const undo = instrumentDataSource(dataSource);
      try {
        const results = await TraceContext.run('capped', async () => {
          const runner = dataSource.driver.createQueryRunner();
          return [await runner.query('SELECT 1'), await runner.query('SELECT 2'), await runner.query('SELECT 3')];
        });
        expect(results).toEqual([[{ one: 1 }], [{ one: 1 }], [{ one: 1 }]]);
        const context = small.finishedContexts[0]!;
        expect(context.count).toBe(2);
        expect(context.droppedSpans).toBe(2);
      } finally {
        undo();
        sink.install();
      }
    });
  });

  describe('ioredis clients', () => {
    it('ignores objects that are not clients and commands that are not Commands', async () => {
      expect(instrumentRedis({}, { keys: true })).toEqual(expect.any(Function));
      const sent: unknown[] = [];
      const client = { sendCommand: (command: unknown): unknown => sent.push(command) };
      const undo = instrumentRedis(client, { keys: true });
      await TraceContext.run('odd', async () => {
        client.sendCommand('not a command');
      });
      expect(sent).toEqual(['not a command']);
      expect(lastTrace().count).toBe(1);
      undo();
    });
  });

  it('src/instrumentation imports none of the optional packages (types included)', () => {
    const dir = join(process.cwd(), 'src', 'instrumentation');
    for (const file of readdirSync(dir).filter((name) => name.endsWith('.ts'))) {
      const source = readFileSync(join(dir, file), 'utf8');
      expect(source).not.toMatch(
        /from ['"](typeorm|mysql2|ioredis|@ioredis\/[^'"]*|@nestjs\/typeorm|@nestjs-modules\/ioredis)(\/[^'"]*)?['"]/,
      );
      expect(source).not.toMatch(/(require|import)\(\s*['"](typeorm|mysql2|ioredis)/);
      expect(source).not.toMatch(/import\.meta/);
    }
  });
});
