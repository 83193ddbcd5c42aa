import 'reflect-metadata';
// ioredis 6 (RESP3 by default) installed beside ioredis 5 under the alias `ioredis6`: the same instrumentation,
// probe and pinned internals must hold on both majors (TypeORM keeps apps with it on ioredis 5).
import { Redis } from 'ioredis6';
import { Trace } from '../../../src/decorators/trace.decorator.js';
import { instrumentRedis } from '../../../src/instrumentation/ioredis.instrumentation.js';
import { readIoredisClientState } from '../../../src/metrics/ioredis-client.internals.js';
import { RedisProbe } from '../../../src/metrics/redis.probe.js';
import type { RedisLike } from '../../../src/connections/ioredis.types.js';
import { CaptureSink, REDIS_URL, RUN_ID, traced, tree } from './helpers/traces.js';

const key = (name: string): string => `${RUN_ID}:v6:${name}`;

@Trace()
class Cache {
  constructor(private readonly redis: Redis) {}
  async roundTrip(value: string): Promise<string | null> {
    await this.redis.set(key('a'), value);
    return this.redis.get(key('a'));
  }
}

describe('ioredis 6', () => {
  let redis: Redis;
  let uninstall: () => void;
  const sink = new CaptureSink();

  beforeAll(async () => {
    redis = new Redis(REDIS_URL);
    await redis.ping();
    uninstall = instrumentRedis(redis, { keys: true });
    sink.install();
  });
  afterAll(async () => {
    sink.uninstall();
    uninstall();
    const keys = await redis.keys(`${RUN_ID}:v6:*`);
    if (keys.length > 0) await redis.del(...keys);
    await redis.quit();
  });

  it('records commands with their first key, a pipeline as one span, and a failing command with its code', async () => {
    const { result, record } = await traced(sink, 'v6', async () => {
      const value = await new Cache(redis).roundTrip('hidden-value');
      await redis.pipeline().set(key('p1'), '1').set(key('p2'), '2').get(key('p1')).exec();
      await redis.set(key('str'), 'x');
      await redis.lpush(key('str'), 'y').catch(() => undefined);
      return value;
    });
    expect(result).toBe('hidden-value');
    expect(tree(record)).toEqual([
      'v6',
      '  Cache.roundTrip',
      `    redis SET ${key('a')}`,
      `    redis GET ${key('a')}`,
      '  redis pipeline',
      `  redis SET ${key('str')}`,
      `  redis LPUSH ${key('str')}`,
    ]);
    expect(record.spans[4]).toMatchObject({ commands: 3 });
    expect(record.spans[6]).toMatchObject({ errorCode: 'WRONGTYPE' });
    expect(JSON.stringify(record)).not.toContain('hidden-value');
  });

  it('the probe parses INFO over RESP3 and reads the client state', async () => {
    const probe = new RedisProbe(redis as unknown as RedisLike, 1000);
    try {
      const metrics = await probe.read();
      expect(metrics).toMatchObject({ commandQueueLength: 0, clientStatus: 'ready' });
      expect((metrics as { connectedClients: number }).connectedClients).toBeGreaterThanOrEqual(1);
      expect((metrics as { usedMemoryMB: number }).usedMemoryMB).toBeGreaterThan(0);
    } finally {
      probe.close();
    }
    expect(readIoredisClientState(redis as unknown as RedisLike)).toMatchObject({
      clientStatus: 'ready',
      commandQueueLength: 0,
    });
  });
});
