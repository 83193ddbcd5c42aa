import { ConnectedSocket, MessageBody, SubscribeMessage, WebSocketGateway, WebSocketServer } from '@nestjs/websockets';
import type { OnGatewayDisconnect } from '@nestjs/websockets';
import type { Namespace, Socket } from 'socket.io';
import { GameService } from './game.service.js';
import type { RoomView } from './game.service.js';

type Body = Record<string, unknown> | undefined;

const channel = (roomId: number): string => `room:${roomId}`;

/** Rooms a socket is in, so that a disconnect frees its seats. */
function joined(client: Socket): Set<number> {
  const data = client.data as { rooms?: Set<number> };
  data.rooms ??= new Set<number>();
  return data.rooms;
}

/**
 * The game's Socket.IO API on namespace `/game`. Every handler is traced by TraceModule (no decorator needed here);
 * a failing one sends the client an `exception` event (Nest's default for a WsException) and is reported as an error.
 */
@WebSocketGateway({ namespace: '/game' })
export class GameGateway implements OnGatewayDisconnect {
  /** A `Namespace` (the gateway is namespaced); the admin UI takes its `server`. */
  @WebSocketServer() server!: Namespace;

  constructor(private readonly game: GameService) {}

  @SubscribeMessage('createRoom')
  async createRoom(@MessageBody() body: Body, @ConnectedSocket() client: Socket): Promise<RoomView> {
    const room = await this.game.createRoom(body?.name, client.id);
    joined(client).add(room.id);
    await client.join(channel(room.id));
    return room;
  }

  @SubscribeMessage('joinRoom')
  async joinRoom(@MessageBody() body: Body, @ConnectedSocket() client: Socket): Promise<RoomView> {
    const room = await this.game.joinRoom(body?.roomId, client.id);
    joined(client).add(room.id);
    await client.join(channel(room.id));
    client.to(channel(room.id)).emit('playerJoined', { roomId: room.id, playerId: client.id, players: room.players });
    return room;
  }

  @SubscribeMessage('leaveRoom')
  async leaveRoom(@MessageBody() body: Body, @ConnectedSocket() client: Socket): Promise<RoomView> {
    const room = await this.game.leaveRoom(body?.roomId, client.id);
    joined(client).delete(room.id);
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
    const kicked = this.server.sockets.get(playerId);
    if (kicked) joined(kicked).delete(room.id);
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

  async handleDisconnect(client: Socket): Promise<void> {
    for (const roomId of joined(client)) await this.game.leaveRoom(roomId, client.id);
  }
}
