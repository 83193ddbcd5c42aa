import { Inject, Injectable, Optional } from '@nestjs/common';
import { EventEmitter2 } from '@nestjs/event-emitter';
import { WsException } from '@nestjs/websockets';
import { NoTrace, Trace, TraceContext } from '../../../src/index.js';
import { GAME_CONFIG } from './game.tokens.js';
import { DEFAULT_BLOCK_PATH_MS } from './config.js';
import type { GameServerConfig } from './config.js';
import { MATCH_QUEUE, MatchResults } from './match-results.js';
import type { MatchQueue } from './match-results.js';
import type { Room } from './room.entity.js';
import { RoomRepository } from './room.repository.js';
import { ROOM_STORE } from './room-store.js';
import type { RoomStore } from './room-store.js';

export interface RoomView {
  id: number;
  name: string;
  hostId: string;
  capacity: number;
  players: number;
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** The game rules. Class-level `@Trace()`: every method is a span in the report of the handler that called it. */
@Trace()
@Injectable()
export class GameService {
  constructor(
    private readonly rooms: RoomRepository,
    @Inject(ROOM_STORE) private readonly store: RoomStore,
    @Inject(GAME_CONFIG) private readonly config: GameServerConfig,
    @Inject(EventEmitter2) private readonly events: EventEmitter2,
    private readonly results: MatchResults,
    // BullMQ's queue when REDIS_URL is set (see match-queue.ts); otherwise results are settled here, in the call.
    @Optional() @Inject(MATCH_QUEUE) private readonly matchQueue?: MatchQueue,
  ) {}

  async createRoom(name: unknown, hostId: string): Promise<RoomView> {
    const valid = this.validateName(name);
    // The deliberately slow path: names starting with "slow" get a map that takes a while to generate.
    if (valid.startsWith('slow')) await this.generateMap(valid);
    // The deliberately blocking path: "huge…" maps are generated synchronously, and every player waits.
    if (valid.startsWith('huge')) this.generateHugeMap();
    const room = await this.rooms.create(valid, hostId, this.config.roomCapacity);
    const players = await this.store.join(room.id, hostId);
    await this.store.count('rooms');
    const view = this.view(room, players);
    this.events.emit('room.created', view);
    return view;
  }

  /** The failing path: joining a full room (or one that does not exist) throws. */
  async joinRoom(roomId: unknown, playerId: string): Promise<RoomView> {
    const room = await this.findRoom(roomId);
    if (await this.store.isMember(room.id, playerId)) return this.view(room, await this.store.size(room.id));
    const players = await this.store.size(room.id);
    if (players >= room.capacity) {
      TraceContext.current()?.addLog(`room ${room.id} has ${players} of ${room.capacity} players`);
      throw new WsException(`Room "${room.name}" is full`);
    }
    return this.view(room, await this.store.join(room.id, playerId));
  }

  async leaveRoom(roomId: unknown, playerId: string): Promise<RoomView> {
    const room = await this.findRoom(roomId);
    return this.view(room, await this.store.leave(room.id, playerId));
  }

  /** The host removes a player. */
  async kick(roomId: unknown, hostId: string, playerId: unknown): Promise<RoomView> {
    const room = await this.findRoom(roomId);
    if (room.hostId !== hostId) throw new WsException('Only the host can kick players');
    if (typeof playerId !== 'string' || !(await this.store.isMember(room.id, playerId)))
      throw new WsException('That player is not in the room');
    const players = await this.store.leave(room.id, playerId);
    await this.store.count('kicks');
    return this.view(room, players);
  }

  async chat(roomId: unknown, playerId: string, text: unknown): Promise<{ roomId: number; text: string }> {
    const room = await this.findRoom(roomId);
    if (!(await this.store.isMember(room.id, playerId))) throw new WsException('Join the room before chatting');
    if (typeof text !== 'string' || text.length === 0 || text.length > 500)
      throw new WsException('Messages are 1 to 500 characters');
    await this.store.count('messages');
    return { roomId: room.id, text };
  }

  /**
   * The host ends the match: the result is added to the match-results queue (REDIS_URL set: the job's trace carries
   * this one's trace id) or settled at once (embedded default).
   */
  async finishMatch(
    roomId: unknown,
    hostId: string,
    winner: unknown,
  ): Promise<{ settled: 'queued' | 'now'; jobId?: string }> {
    const room = await this.findRoom(roomId);
    if (room.hostId !== hostId) throw new WsException('Only the host can finish the match');
    if (typeof winner !== 'string' || !(await this.store.isMember(room.id, winner)))
      throw new WsException('The winner must be a player of the room');
    const result = { roomId: room.id, roomName: room.name, winner };
    if (this.matchQueue) return { settled: 'queued', jobId: (await this.matchQueue.add('settle', result)).id };
    await this.results.settle(result);
    return { settled: 'now' };
  }

  async listRooms(limit = 50): Promise<{ rooms: RoomView[]; counters: Record<string, number> }> {
    const rooms = await this.rooms.latest(limit);
    const views = await Promise.all(rooms.map(async (room) => this.view(room, await this.store.size(room.id))));
    return { rooms: views, counters: await this.store.counters() };
  }

  /** The latest rooms, each loaded again by id one at a time: an N+1 the trace report points out. */
  async listRoomsOneByOne(limit = 20): Promise<RoomView[]> {
    const latest = await this.rooms.latest(limit);
    const rooms = await this.rooms.findEachById(latest.map((room) => room.id));
    return Promise.all(rooms.map(async (room) => this.view(room, await this.store.size(room.id))));
  }

  async getRoom(id: number): Promise<RoomView | null> {
    const room = await this.rooms.findById(id);
    return room ? this.view(room, await this.store.size(room.id)) : null;
  }

  async findRoom(roomId: unknown): Promise<Room> {
    const id = Number(roomId);
    const room = Number.isInteger(id) && id > 0 ? await this.rooms.findById(id) : null;
    if (!room) throw new WsException(`Room ${JSON.stringify(roomId)} does not exist`);
    return room;
  }

  async generateMap(name: string): Promise<void> {
    TraceContext.current()?.addLog(`generating the map of "${name}"`);
    await sleep(this.config.slowPathMs);
  }

  /**
   * Synchronous on purpose: a busy loop of `BLOCK_PATH_MS` (default 500 ms) that never yields, so the event loop does
   * not turn. The stall watchdog reads this stack while it runs and writes a BLOCKED report naming this method.
   */
  generateHugeMap(): number {
    const until = Date.now() + (this.config.blockPathMs ?? DEFAULT_BLOCK_PATH_MS);
    let tiles = 0;
    while (Date.now() < until) tiles++;
    return tiles;
  }

  validateName(name: unknown): string {
    if (typeof name !== 'string' || !/^[\w -]{1,64}$/.test(name))
      throw new WsException('A room name is 1 to 64 letters, digits, spaces, - or _');
    return name;
  }

  /** Too small to be worth a span. */
  @NoTrace()
  view(room: Room, players: number): RoomView {
    return { id: room.id, name: room.name, hostId: room.hostId, capacity: room.capacity, players };
  }
}
