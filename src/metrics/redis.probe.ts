import type { RedisLike } from '../connections/ioredis.types.js';
import type { ProbeError, RedisMetrics } from '../trace.types.js';
import { readIoredisClientState } from './ioredis-client.internals.js';
import type { IoredisClientState } from './ioredis-client.internals.js';
import { errorMessage, networkProbeError, probeError } from './probe-error.js';
import { parseRedisInfo } from './redis-info.parser.js';
import { toMB } from './units.js';
import { withTimeout } from './with-timeout.js';

/** A failed Redis probe: the `ProbeError` plus what the app's client still knows about itself. */
export type RedisProbeFailure = ProbeError & IoredisClientState;

/**
 * Redis metrics of the app's ioredis client:
 *
 * - server: one `INFO` (default sections; RESP2 and RESP3 replies) → connected / blocked clients, used memory,
 *   ops/sec, keyspace hits / misses, evictions. Only those fields are kept (never `executable`, `config_file`, …), and
 *   `CLIENT LIST` is never run (it is O(clients), admin-only, and lists other clients' addresses);
 * - client: the app client's status, reply queue and offline queue, read in-process (`readIoredisClientState`).
 *
 * `INFO` never goes through the app's client (whose offline queue and retries would hold it for seconds): it runs on
 * **one extra connection**, `client.duplicate()` with `lazyConnect`, `enableOfflineQueue: false`,
 * `maxRetriesPerRequest: 0`, no ready check, no automatic reconnection, and connect / command timeouts of `timeoutMs`.
 * It connects on the first snapshot, stays open, reconnects on a later snapshot after a failure, and is closed by
 * `close()` (on application shutdown). Refused `INFO` (ACL `NOPERM`) → `forbidden`; renamed / disabled `INFO` →
 * `unsupported`; closed port or stopped server → `unavailable`; paused or hung server → `timeout`.
 */
export class RedisProbe {
  private client: RedisLike | null = null;
  private connecting: Promise<unknown> | null = null;
  private lastError: unknown;
  private closed = false;

  constructor(
    private readonly app: RedisLike,
    private readonly timeoutMs: number,
  ) {}

  async read(): Promise<RedisMetrics | RedisProbeFailure> {
    const local = readIoredisClientState(this.app);
    if (this.app.isCluster === true)
      return { ...probeError('unsupported', 'Redis Cluster clients are not probed'), ...local };
    if (this.closed) return { ...probeError('unavailable', 'shutting down'), ...local };
    let reply: unknown;
    try {
      reply = await withTimeout(this.info(), this.timeoutMs);
    } catch (error) {
      return { ...this.classify(error), ...local };
    }
    const info = parseRedisInfo(reply);
    const connectedClients = number(info?.get('connected_clients'));
    const usedMemory = number(info?.get('used_memory'));
    const opsPerSec = number(info?.get('instantaneous_ops_per_sec'));
    if (connectedClients === null || usedMemory === null || opsPerSec === null) {
      return {
        ...probeError('unsupported', 'INFO reply lacks connected_clients / used_memory / instantaneous_ops_per_sec'),
        ...local,
      };
    }
    const maxMemory = number(info?.get('maxmemory'));
    return {
      connectedClients,
      usedMemoryMB: toMB(usedMemory),
      opsPerSec,
      commandQueueLength: local.commandQueueLength,
      offlineQueueLength: local.offlineQueueLength,
      clientStatus: local.clientStatus,
      blockedClients: number(info?.get('blocked_clients')),
      maxMemoryMB: maxMemory ? toMB(maxMemory) : null,
      keyspaceHits: number(info?.get('keyspace_hits')),
      keyspaceMisses: number(info?.get('keyspace_misses')),
      evictedKeys: number(info?.get('evicted_keys')),
    };
  }

  /** Disconnects the probe's own connection; later reads report Redis as unavailable. */
  close(): void {
    this.closed = true;
    // ioredis's disconnect() arms a timer (`disconnectTimeout`) that only the stream's 'close' event clears: on a
    // stream that is already closed (status 'end') it would hold the process open for that long.
    if (this.client && this.client.status !== 'end') this.client.disconnect();
    this.client = null;
  }

  private async info(): Promise<unknown> {
    const client = this.client ?? this.create();
    if (client.status === 'wait' || client.status === 'end' || client.status === 'close') {
      this.lastError = undefined;
      this.connecting = client.connect().finally(() => {
        this.connecting = null;
      });
    }
    if (this.connecting) await this.connecting;
    return client.info();
  }

  private create(): RedisLike {
    const client = this.app.duplicate({
      lazyConnect: true,
      enableOfflineQueue: false,
      enableReadyCheck: false,
      maxRetriesPerRequest: 0,
      connectTimeout: this.timeoutMs,
      commandTimeout: this.timeoutMs,
      retryStrategy: () => null,
      disconnectTimeout: this.timeoutMs,
      reconnectOnError: () => false,
      autoResubscribe: false,
      enableAutoPipelining: false,
    });
    // ioredis prints unhandled 'error' events; the failure is reported in the snapshot instead.
    client.on('error', (error: unknown) => {
      this.lastError = error;
    });
    this.client = client;
    return client;
  }

  private classify(error: unknown): ProbeError {
    // A failed connect rejects with "Connection is closed."; the cause (ECONNREFUSED, …) came as an 'error' event.
    const network = networkProbeError(error) ?? networkProbeError(this.lastError);
    if (network) return network;
    const message = errorMessage(error);
    const word = message.split(' ', 1)[0] ?? '';
    if (/^Command timed out/i.test(message)) return probeError('timeout', `timeout after ${this.timeoutMs} ms`);
    if (word === 'NOPERM' || word === 'NOAUTH' || word === 'WRONGPASS')
      return probeError('forbidden', `${word}: the server refused INFO for this user`);
    if (/unknown command/i.test(message))
      return probeError('unsupported', 'INFO is disabled or renamed on this server');
    if (/Connection is closed|Stream isn't writeable|already connecting/i.test(message))
      return probeError('unavailable', 'connection closed');
    return probeError('unavailable', message);
  }
}

function number(text: string | undefined): number | null {
  if (text === undefined || text === '') return null;
  const value = Number(text);
  return Number.isFinite(value) ? value : null;
}
