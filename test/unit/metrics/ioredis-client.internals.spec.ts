import { createRequire } from 'node:module';
import { Redis } from 'ioredis';
import type { RedisLike } from '../../../src/connections/ioredis.types.js';
import { readIoredisClientState } from '../../../src/metrics/ioredis-client.internals.js';

const ioredisVersion = (createRequire(`${process.cwd()}/package.json`)('ioredis/package.json') as { version: string })
  .version;

describe(`readIoredisClientState pins the ioredis internals it reads (installed ioredis ${ioredisVersion})`, () => {
  it('reads status, commandQueue and offlineQueue of a real client — fails here if an upgrade renames them', async () => {
    // Nothing listens on port 1: the client stays offline and queues what it is given.
    const client = new Redis(1, '127.0.0.1', { lazyConnect: true, retryStrategy: () => null, maxRetriesPerRequest: 0 });
    client.on('error', () => undefined);
    try {
      expect(readIoredisClientState(client)).toEqual({
        clientStatus: 'wait',
        commandQueueLength: 0,
        offlineQueueLength: 0,
      });
      const queued = client.get('k').catch((error: unknown) => error);
      const state = readIoredisClientState(client);
      expect(state.offlineQueueLength).toBe(1);
      expect(state.commandQueueLength).toBe(0);
      expect(await queued).toBeInstanceOf(Error);
    } finally {
      // Not on an ended client: ioredis would arm a 2 s timer that only an already-emitted 'close' event clears.
      if (client.status !== 'end') client.disconnect();
    }
  });

  it('reports null, never 0, for queues it cannot find', () => {
    const stranger = {
      status: 'ready',
      commandQueue: [] as unknown[],
      offlineQueue: { size: 3 },
    } as unknown as RedisLike;
    expect(readIoredisClientState(stranger)).toEqual({
      clientStatus: 'ready',
      commandQueueLength: 0,
      offlineQueueLength: null,
    });
    expect(readIoredisClientState({ status: 'end' } as unknown as RedisLike)).toEqual({
      clientStatus: 'end',
      commandQueueLength: null,
      offlineQueueLength: null,
    });
  });
});
