import { parseRedisInfo, redisInfoText } from '../../../src/metrics/redis-info.parser.js';

const INFO = [
  '# Server',
  'redis_version:7.0.15',
  'executable:/usr/bin/redis-server',
  'config_file:/etc/redis/redis.conf',
  '',
  '# Clients',
  'connected_clients:3',
  'blocked_clients:1',
  '',
  '# Memory',
  'used_memory:1258291',
  '',
  '# Stats',
  'instantaneous_ops_per_sec:812',
  'keyspace_hits:10',
  '',
  '# Keyspace',
  'db0:keys=1,expires=0,avg_ttl=0',
  '',
].join('\r\n');

describe('parseRedisInfo: INFO replies in every shape ioredis 5 / 6 return them', () => {
  it.each([
    ['RESP2 bulk string', INFO],
    ['RESP2 Buffer', Buffer.from(INFO)],
    ['RESP3 verbatim string, raw with its txt: prefix', `txt:${INFO}`],
    ['RESP3 verbatim string as an object { format, value }', { format: 'txt', value: INFO }],
    ['RESP3 verbatim string as an object holding a Buffer', { format: 'txt', value: Buffer.from(`txt:${INFO}`) }],
    ['LF line endings', INFO.replace(/\r\n/g, '\n')],
  ])('%s', (_, reply) => {
    const fields = parseRedisInfo(reply);
    expect(fields?.get('connected_clients')).toBe('3');
    expect(fields?.get('blocked_clients')).toBe('1');
    expect(fields?.get('used_memory')).toBe('1258291');
    expect(fields?.get('instantaneous_ops_per_sec')).toBe('812');
    expect(fields?.get('db0')).toBe('keys=1,expires=0,avg_ttl=0');
    expect([...(fields?.keys() ?? [])].some((key) => key.startsWith('#'))).toBe(false);
  });

  it('gives undefined for replies that are not text', () => {
    expect(parseRedisInfo(42)).toBeUndefined();
    expect(parseRedisInfo(null)).toBeUndefined();
    expect(parseRedisInfo({})).toBeUndefined();
    expect(redisInfoText(['a'])).toBeUndefined();
  });

  it('keeps a value that itself contains colons', () => {
    expect(parseRedisInfo('# Server\r\nexecutable:C:\\redis\\redis-server.exe\r\n')?.get('executable')).toBe(
      'C:\\redis\\redis-server.exe',
    );
  });
});
