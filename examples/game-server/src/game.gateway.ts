import { ConnectedSocket, MessageBody, SubscribeMessage, WebSocketGateway, WebSocketServer } from '@nestjs/websockets';
import type { OnGatewayDisconnect } from '@nestjs/websockets';
import type { Namespace, Socket } from 'socket.io';
import { GameService } from './game.service.js';
import type { RoomView } from './game.service.js';

type Body = Record<string, unknown> | undefined;

const channel = (roomId: number): string => `room:${roomId}`;

/**
 * The game's Socket.IO API on namespace `/game`. Every handler is traced by TraceModule (no decorator needed here);
 * a failing one sends the client an `exception` event (Nest's default for a WsException) and is reported as an error.
 */
@WebSocketGateway({ namespace: '/game' })
export class GameGateway implements OnGatewayDisconnect {
  /** A `Namespace` (the gateway is namespaced); the admin UI takes its `server`. */
  @WebSocketServer() server!: Namespace;

  /**
   * Rooms each socket is in (by socket id), so that a disconnect frees its seats. Kept here, not in `socket.data`:
   * the admin UI in development mode wraps `socket.data` values in Proxies, and a `Set` method called on a Proxy
   * fails (`Set.prototype.add called on incompatible receiver`).
   */
  private readonly joinedRooms = new Map<string, Set<number>>();

  constructor(private readonly game: GameService) {}

  private joined(socketId: string): Set<number> {
    let rooms = this.joinedRooms.get(socketId);
    if (!rooms) this.joinedRooms.set(socketId, (rooms = new Set<number>()));
    return rooms;
  }

  @SubscribeMessage('createRoom')
  async createRoom(@MessageBody() body: Body, @ConnectedSocket() client: Socket): Promise<RoomView> {
    const room = await this.game.createRoom(body?.name, client.id);
    this.joined(client.id).add(room.id);
    await client.join(channel(room.id));
    return room;
  }

  @SubscribeMessage('joinRoom')
  async joinRoom(@MessageBody() body: Body, @ConnectedSocket() client: Socket): Promise<RoomView> {
    const room = await this.game.joinRoom(body?.roomId, client.id);
    this.joined(client.id).add(room.id);
    await client.join(channel(room.id));
    client.to(channel(room.id)).emit('playerJoined', { roomId: room.id, playerId: client.id, players: room.players });
    return room;
  }

  @SubscribeMessage('leaveRoom')
  async leaveRoom(@MessageBody() body: Body, @ConnectedSocket() client: Socket): Promise<RoomView> {
    const room = await this.game.leaveRoom(body?.roomId, client.id);
    this.joined(client.id).delete(room.id);
    await client.leave(channel(room.id));
    this.server
      .to(channel(room.id))
      .emit('playerLeft', { roomId: room.id, playerId: client.id, players: room.players });
    return room;
  }

  @SubscribeMessage('kick')
  async kick(@MessageBody() body: Body, @ConnectedSocket() client: Socket): Promise<RoomView> {
    const room = await this.game.kick(body?.roomId, client.id, body?.playerId);
    const playerId = String(body?.playerId);
    this.server.in(playerId).socketsLeave(channel(room.id));
    this.joinedRooms.get(playerId)?.delete(room.id);
    this.server.to(playerId).emit('kicked', { roomId: room.id });
    this.server.to(channel(room.id)).emit('playerLeft', { roomId: room.id, playerId, players: room.players });
    return room;
  }

  @SubscribeMessage('chat')
  async chat(@MessageBody() body: Body, @ConnectedSocket() client: Socket): Promise<{ ok: true }> {
    const message = await this.game.chat(body?.roomId, client.id, body?.text);
    client.to(channel(message.roomId)).emit('chat', { roomId: message.roomId, from: client.id, text: message.text });
    return { ok: true };
  }

  /** The host ends the match (`{ roomId, winner }`, a player id): the result is settled by `MatchResults`. */
  @SubscribeMessage('finishMatch')
  finishMatch(
    @MessageBody() body: Body,
    @ConnectedSocket() client: Socket,
  ): Promise<{ settled: 'queued' | 'now'; jobId?: string }> {
    return this.game.finishMatch(body?.roomId, client.id, body?.winner);
  }

  async handleDisconnect(client: Socket): Promise<void> {
    const rooms = this.joinedRooms.get(client.id) ?? [];
    this.joinedRooms.delete(client.id);
    for (const roomId of rooms) await this.game.leaveRoom(roomId, client.id);
  }
}
