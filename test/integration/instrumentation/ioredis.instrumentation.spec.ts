import 'reflect-metadata';
import { jest } from '@jest/globals';
import { Command, Redis } from 'ioredis';
import { TraceContext } from '../../../src/context/trace-context.js';
import { Trace } from '../../../src/decorators/trace.decorator.js';
import { instrumentRedis } from '../../../src/instrumentation/ioredis.instrumentation.js';
import { formatText } from '../../../src/report/text-format.js';
import { CaptureSink, REDIS_URL, RUN_ID, dbSpans, expectNested, secret, traced, tree } from './helpers/traces.js';
import { currentTrace } from '../../support/current-trace.js';
import { ActiveTrace } from '../../../src/context/active-trace.js';

const key = (name: string): string => `${RUN_ID}:${name}`;

@Trace()
class CacheService {
  constructor(private readonly redis: Redis) {}

  async saveRoom(id: number, value: string): Promise<string | null> {
    await this.redis.set(key(`room:${id}`), value);
    return this.loadRoom(id);
  }

  async loadRoom(id: number): Promise<string | null> {
    return this.redis.get(key(`room:${id}`));
  }
}

describe('ioredis commands as spans, real Redis', () => {
  let redis: Redis;
  let uninstall: () => void;
  const sink = new CaptureSink();
  const unhandled: unknown[] = [];
  const onUnhandled = (reason: unknown): void => {
    unhandled.push(reason);
  };

  beforeAll(async () => {
    process.on('unhandledRejection', onUnhandled);
    redis = new Redis(REDIS_URL);
    await redis.ping();
    uninstall = instrumentRedis(redis, { keys: true });
    sink.install();
  });

  afterAll(async () => {
    sink.uninstall();
    uninstall();
    const keys = await redis.keys(`${RUN_ID}:*`);
    if (keys.length > 0) await redis.del(...keys);
    await redis.quit();
    process.off('unhandledRejection', onUnhandled);
    expect(unhandled).toEqual([]);
  });

  it('every command is a span under the method that sent it: command name and first key, never the value', async () => {
    const value = secret('value');
    const service = new CacheService(redis);
    const { result, record } = await traced(sink, 'request', () => service.saveRoom(42, value));
    expect(result).toBe(value);
    expect(tree(record)).toEqual([
      'request',
      '  CacheService.saveRoom',
      `    redis SET ${key('room:42')}`,
      '    CacheService.loadRoom',
      `      redis GET ${key('room:42')}`,
    ]);
    expect(dbSpans(record).map(({ kind, system, statement }) => ({ kind, system, statement }))).toEqual([
      { kind: 'db', system: 'redis', statement: 'SET' },
      { kind: 'db', system: 'redis', statement: 'GET' },
    ]);
    expectNested(record);
    for (const text of [JSON.stringify(record), formatText(record)]) expect(text).not.toContain(value);
  });

  it('values stay out of commands whose first argument is not a key (ECHO, PUBLISH, EVAL, HSET)', async () => {
    const value = secret('args');
    const { record } = await traced(sink, 'non-key', async () => {
      // Twice: the second round runs with the key positions ioredis answered in the first one remembered.
      for (let round = 0; round < 2; round++) {
        await redis.echo(value);
        await redis.publish(key('channel'), value);
        await redis.eval(`return '${'x'}'`, 1, key('eval'), value);
        await redis.eval(`return '${'x'}'`, 0, value);
        await redis.hset(key('hash'), 'field', value);
      }
    });
    const round = [
      '  redis ECHO',
      '  redis PUBLISH',
      `  redis EVAL ${key('eval')}`,
      '  redis EVAL',
      `  redis HSET ${key('hash')}`,
    ];
    expect(tree(record)).toEqual(['non-key', ...round, ...round]);
    for (const text of [JSON.stringify(record), formatText(record)]) expect(text).not.toContain(value);
  });

  it('keys: false records the command name only', async () => {
    const other = new Redis(REDIS_URL);
    const undo = instrumentRedis(other, { keys: false });
    try {
      const { record, context } = await traced(sink, 'no-keys', () => other.get(key('private')));
      expect(tree(record)).toEqual(['no-keys', '  redis GET']);
      expect(context.extras?.get(1)?.db?.key).toBeUndefined();
    } finally {
      undo();
      await other.quit();
    }
  });

  it('a pipeline of 5 commands is one span with commands: 5, and none of them is recorded on its own', async () => {
    const { result, record } = await traced(sink, 'pipeline', async () => {
      const pipeline = redis.pipeline();
      for (let i = 0; i < 5; i++) pipeline.set(key(`p:${i}`), String(i));
      return pipeline.exec();
    });
    expect(result).toHaveLength(5);
    expect(tree(record)).toEqual(['pipeline', '  redis pipeline']);
    expect(record.spans[1]).toMatchObject({ kind: 'db', system: 'redis', statement: 'pipeline', commands: 5 });
    expect(record.spans[1]!.error).toBeUndefined();
  });

  it('a multi of 3 commands is one span with commands: 3 (MULTI / EXEC not counted)', async () => {
    const { result, record } = await traced(sink, 'multi', () =>
      redis.multi().incr(key('m')).incr(key('m')).get(key('m')).exec(),
    );
    expect(result?.map(([error]) => error)).toEqual([null, null, null]);
    expect(tree(record)).toEqual(['multi', '  redis multi']);
    expect(record.spans[1]).toMatchObject({ statement: 'multi', commands: 3 });
  });

  it('a pipeline with a failing command is marked failed with that error code; the results reach the caller', async () => {
    await redis.set(key('str'), 'x');
    const { result, record } = await traced(sink, 'pipeline-fail', () =>
      redis.pipeline().get(key('str')).lpush(key('str'), 'y').exec(),
    );
    expect(result?.[0]).toEqual([null, 'x']);
    expect(String(result?.[1]?.[0])).toMatch(/^ReplyError: WRONGTYPE/);
    expect(record.spans[1]).toMatchObject({ commands: 2, errorCode: 'WRONGTYPE', error: 'WRONGTYPE' });
  });

  it('BLPOP with a 0.3 s timeout is one span of about 300 ms', async () => {
    const { result, record } = await traced(sink, 'blocking', () => redis.blpop(key('empty-list'), 0.3));
    expect(result).toBeNull();
    expect(tree(record)).toEqual(['blocking', `  redis BLPOP ${key('empty-list')}`]);
    expect(record.spans[1]!.durationMs).toBeGreaterThanOrEqual(250);
    expect(record.spans[1]!.durationMs).toBeLessThan(1500);
  });

  it('a failing command: error code only on the span (Redis quotes arguments in its messages), the same error to the caller', async () => {
    const value = secret('unknown');
    let caught: unknown;
    const { record } = await traced(sink, 'failing', async () => {
      await redis.set(key('str'), 'x');
      await redis.lpush(key('str'), value).catch((error: unknown) => {
        caught = error;
      });
      await redis.call('NT_NO_SUCH_COMMAND', value).catch(() => undefined);
    });
    expect((caught as Error).name).toBe('ReplyError');
    expect((caught as Error).message).toMatch(/^WRONGTYPE/);
    expect(record.spans[2]).toMatchObject({
      name: `redis LPUSH ${key('str')}`,
      errorCode: 'WRONGTYPE',
      error: 'WRONGTYPE',
    });
    expect(record.spans[3]).toMatchObject({ errorCode: 'ERR', error: 'ERR' });
    for (const text of [JSON.stringify(record), formatText(record)]) expect(text).not.toContain(value);
  });

  it('passes the rejection object through unchanged (identity)', async () => {
    const failure = Object.assign(new Error('CUSTOM failure'), { name: 'ReplyError' });
    const command = new Command('get', [key('identity-error')]);
    let caught: unknown;
    const { record } = await traced(sink, 'identity-error', async () => {
      void redis.sendCommand(command);
      command.reject(failure); // settles first; the real reply arriving later changes nothing
      caught = await command.promise.catch((error: unknown) => error);
    });
    expect(caught).toBe(failure);
    expect(record.spans[1]).toMatchObject({ errorCode: 'CUSTOM', error: 'CUSTOM' });
  });

  it('returns the very Promise ioredis made: no wrapper Promise, so an ignored rejection stays unhandled as before', async () => {
    const command = new Command('get', [key('identity')]);
    const returned = await traced(sink, 'identity', async () => redis.sendCommand(command));
    expect(tree(returned.record)).toEqual(['identity', `  redis GET ${key('identity')}`]);
    const second = new Command('get', [key('identity')]);
    await TraceContext.run('identity-2', async () => {
      expect(redis.sendCommand(second)).toBe(second.promise);
      await second.promise;
    });
  });

  it('100 concurrent traces: each command lands in its own trace; context intact after promise, callback, pipeline and multi (RELIABILITY 18)', async () => {
    const seenInCallbacks = new Set<string | undefined>();
    const runs = await Promise.all(
      Array.from({ length: 100 }, (_, index) =>
        traced(sink, `concurrent_${index}`, async () => {
          const own = `concurrent_${index}`;
          await redis.set(key(`c:${index}`), String(index));
          expect(currentTrace()?.origin.handlerName).toBe(own);
          await new Promise<void>((resolve, reject) => {
            void redis.get(key(`c:${index}`), (error) => {
              seenInCallbacks.add(
                currentTrace()?.origin.handlerName === own ? 'own' : currentTrace()?.origin.handlerName,
              );
              if (error) reject(error);
              else resolve();
            });
          });
          expect(currentTrace()?.origin.handlerName).toBe(own);
          await redis
            .pipeline()
            .get(key(`c:${index}`))
            .exec();
          expect(currentTrace()?.origin.handlerName).toBe(own);
          await redis
            .multi()
            .get(key(`c:${index}`))
            .exec();
          expect(currentTrace()?.origin.handlerName).toBe(own);
        }),
      ),
    );
    runs.forEach(({ record }, index) => {
      expect(tree(record)).toEqual([
        `concurrent_${index}`,
        `  redis SET ${key(`c:${index}`)}`,
        `  redis GET ${key(`c:${index}`)}`,
        '  redis pipeline',
        '  redis multi',
      ]);
    });
    // Documented driver behaviour: ioredis calls a callback from the command's Promise, so it runs in the caller's trace.
    expect([...seenInCallbacks]).toEqual(['own']);
  });

  it('outside a trace nothing is recorded and no span is opened', async () => {
    const openSpan = jest.spyOn(ActiveTrace.prototype, 'openSpan');
    try {
      await redis.set(key('outside'), '1');
      await redis.get(key('outside'));
      await redis.pipeline().get(key('outside')).exec();
      await redis.multi().get(key('outside')).exec();
      expect(openSpan).not.toHaveBeenCalled();
    } finally {
      openSpan.mockRestore();
    }
  });

  it('pins the ioredis internals it hooks: Command resolve/reject/getKeys, pipelines sending through client.sendCommand', async () => {
    const command = new Command('get', [key('pin')]);
    expect(typeof command.resolve).toBe('function');
    expect(typeof command.reject).toBe('function');
    expect(command.getKeys()).toEqual([key('pin')]);
    const plain = new Redis(REDIS_URL);
    try {
      await plain.ping();
      const sent: Array<{ name: string; pipelined: boolean }> = [];
      const original = plain.sendCommand.bind(plain);
      plain.sendCommand = ((cmd: Command, stream?: { isPipeline?: boolean }) => {
        sent.push({ name: cmd.name, pipelined: typeof cmd.pipelineIndex === 'number' && stream?.isPipeline === true });
        return original(cmd, stream as never);
      }) as typeof plain.sendCommand;
      await plain.pipeline().get(key('pin')).get(key('pin')).exec();
      expect(sent).toEqual([
        { name: 'get', pipelined: true },
        { name: 'get', pipelined: true },
      ]);
      const pipeline = plain.pipeline() as unknown as {
        isPipeline?: boolean;
        resolve?: unknown;
        reject?: unknown;
        length?: number;
      };
      expect(pipeline.isPipeline).toBe(true);
      expect(typeof pipeline.resolve).toBe('function');
      expect(typeof pipeline.reject).toBe('function');
    } finally {
      await plain.quit();
    }
  });

  it('a command sent before the client is ready is recorded once, though ioredis sends it again from its offline queue', async () => {
    const fresh = new Redis(REDIS_URL, { lazyConnect: true });
    const undo = instrumentRedis(fresh, { keys: true });
    try {
      const { result, record } = await traced(sink, 'offline-queue', () => fresh.get(key('never-set')));
      expect(result).toBeNull();
      const names = tree(record);
      expect(names.slice(0, 2)).toEqual(['offline-queue', `  redis GET ${key('never-set')}`]);
      expect(names.filter((name) => name.includes('GET'))).toHaveLength(1);
      // The connection this trace opened runs its handshake (CLIENT SETNAME / SETINFO, the INFO ready check) in this
      // trace's context, and the GET waited for it: those are recorded here, truthfully.
      expect(names.slice(2).every((name) => /^ {2}redis (CLIENT|INFO|SELECT|HELLO|AUTH)$/.test(name))).toBe(true);
      expect(record.spans[1]!.durationMs).toBeGreaterThanOrEqual(
        Math.max(...record.spans.slice(2).map((span) => span.durationMs)),
      );
    } finally {
      undo();
      await fresh.quit();
    }
  });

  it('uninstall restores the original methods and stops recording; a second install is counted, not doubled', async () => {
    const own = new Redis(REDIS_URL);
    try {
      const first = instrumentRedis(own, { keys: true });
      const second = instrumentRedis(own, { keys: true });
      const once = await traced(sink, 'twice-installed', () => own.get(key('x')));
      expect(tree(once.record)).toEqual(['twice-installed', `  redis GET ${key('x')}`]);
      first();
      expect(Object.prototype.hasOwnProperty.call(own, 'sendCommand')).toBe(true);
      second();
      for (const method of ['sendCommand', 'pipeline', 'multi']) {
        expect(Object.prototype.hasOwnProperty.call(own, method)).toBe(false);
      }
      expect(own.sendCommand).toBe(Redis.prototype.sendCommand);
      const after = await traced(sink, 'uninstalled', async () => {
        await own.get(key('x'));
        await own.pipeline().get(key('x')).exec();
      });
      expect(tree(after.record)).toEqual(['uninstalled']);
    } finally {
      await own.quit();
    }
  });
});
