import type { Redis } from 'ioredis';
import { Trace } from '../../../src/index.js';

/** Room membership and counters: Redis when REDIS_URL is set, otherwise in process. */
export interface RoomStore {
  /** Adds the player; resolves to the room's new size. */
  join(roomId: number, playerId: string): Promise<number>;
  /** Removes the player; resolves to the room's new size. */
  leave(roomId: number, playerId: string): Promise<number>;
  size(roomId: number): Promise<number>;
  isMember(roomId: number, playerId: string): Promise<boolean>;
  count(counter: 'rooms' | 'joins' | 'messages' | 'kicks' | 'announcements' | 'matches'): Promise<void>;
  counters(): Promise<Record<string, number>>;
}

export const ROOM_STORE = 'GAME:ROOM_STORE';

const PREFIX = 'nestjs-trace-example';
const playersKey = (roomId: number): string => `${PREFIX}:room:${roomId}:players`;
const COUNTERS = `${PREFIX}:counters`;
/** Memberships outlive a run by an hour at most (the example shares the Redis it is given). */
const TTL_SECONDS = 3600;

/** Membership as Redis sets, counters in a hash: each command is a `redis …` span under the traced caller. */
@Trace()
export class RedisRoomStore implements RoomStore {
  constructor(private readonly redis: Redis) {}

  async join(roomId: number, playerId: string): Promise<number> {
    const results = await this.redis
      .multi()
      .sadd(playersKey(roomId), playerId)
      .scard(playersKey(roomId))
      .expire(playersKey(roomId), TTL_SECONDS)
      .hincrby(COUNTERS, 'joins', 1)
      .exec();
    return Number(results?.[1]?.[1] ?? 0);
  }

  async leave(roomId: number, playerId: string): Promise<number> {
    await this.redis.srem(playersKey(roomId), playerId);
    return this.redis.scard(playersKey(roomId));
  }

  size(roomId: number): Promise<number> {
    return this.redis.scard(playersKey(roomId));
  }

  async isMember(roomId: number, playerId: string): Promise<boolean> {
    return (await this.redis.sismember(playersKey(roomId), playerId)) === 1;
  }

  async count(counter: string): Promise<void> {
    await this.redis.hincrby(COUNTERS, counter, 1);
  }

  async counters(): Promise<Record<string, number>> {
    const raw = await this.redis.hgetall(COUNTERS);
    return Object.fromEntries(Object.entries(raw).map(([key, value]) => [key, Number(value)]));
  }
}

/** The embedded default: the same contract in a Map, for a machine without Redis. */
@Trace()
export class MemoryRoomStore implements RoomStore {
  private readonly rooms = new Map<number, Set<string>>();
  private readonly counts: Record<string, number> = {};

  async join(roomId: number, playerId: string): Promise<number> {
    const players = this.rooms.get(roomId) ?? new Set<string>();
    this.rooms.set(roomId, players.add(playerId));
    await this.count('joins');
    return players.size;
  }

  async leave(roomId: number, playerId: string): Promise<number> {
    const players = this.rooms.get(roomId);
    players?.delete(playerId);
    return Promise.resolve(players?.size ?? 0);
  }

  size(roomId: number): Promise<number> {
    return Promise.resolve(this.rooms.get(roomId)?.size ?? 0);
  }

  isMember(roomId: number, playerId: string): Promise<boolean> {
    return Promise.resolve(this.rooms.get(roomId)?.has(playerId) ?? false);
  }

  count(counter: string): Promise<void> {
    this.counts[counter] = (this.counts[counter] ?? 0) + 1;
    return Promise.resolve();
  }

  counters(): Promise<Record<string, number>> {
    return Promise.resolve({ ...this.counts });
  }
}
