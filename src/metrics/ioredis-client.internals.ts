import type { RedisLike } from '../connections/ioredis.types.js';

/** What an ioredis client knows about itself, read in-process without a round trip. */
export interface IoredisClientState {
  /** Public `status`: `wait`, `connecting`, `connect`, `ready`, `reconnecting`, `close`, `end`. */
  clientStatus: string;
  /** Commands written to the server and still waiting for their reply; `null` if this ioredis version hides it. */
  commandQueueLength: number | null;
  /** Commands held back while disconnected (sent on reconnect); `null` if this ioredis version hides it. */
  offlineQueueLength: number | null;
}

interface IoredisInternals {
  readonly commandQueue?: { readonly length?: unknown };
  readonly offlineQueue?: { readonly length?: unknown };
}

function lengthOf(queue: { readonly length?: unknown } | undefined): number | null {
  return queue !== null && typeof queue === 'object' && typeof queue.length === 'number' ? queue.length : null;
}

/**
 * The one place that reads ioredis internals: `commandQueue` (declared public in ioredis 5's typings) and the private
 * `offlineQueue`, both `Deque`s in ioredis 5 and 6. ioredis has no public API for either. Feature-detected: a missing
 * or renamed field gives `null`, never 0, and `test/unit/metrics` pins the names for the installed ioredis.
 */
export function readIoredisClientState(client: RedisLike): IoredisClientState {
  const internals = client as unknown as IoredisInternals;
  return {
    clientStatus: client.status,
    commandQueueLength: lengthOf(internals.commandQueue),
    offlineQueueLength: lengthOf(internals.offlineQueue),
  };
}
