import { Injectable } from '@nestjs/common';
import { ConnectedSocket, MessageBody, SubscribeMessage, WebSocketGateway, WsException } from '@nestjs/websockets';
import type { OnGatewayConnection } from '@nestjs/websockets';
import type { Socket } from 'socket.io';
import { Trace, TraceContext } from 'nestjs-trace';
import { sleep } from './report-capture';

@Trace()
@Injectable()
export class GameService {
  readonly connections: (string | undefined)[] = [];
  async createRoom(name: string, delayMs: number): Promise<{ name: string }> {
    await this.validateRoom(name);
    await sleep(delayMs);
    await this.saveRoom(name);
    return { name };
  }
  async validateRoom(name: string): Promise<void> {
    if (name === 'full') throw new WsException('Room is full');
    await sleep(1);
  }
  async saveRoom(_name: string): Promise<void> {
    await sleep(2);
  }
}

@WebSocketGateway({ namespace: '/game' })
@Trace()
export class GameGateway implements OnGatewayConnection {
  constructor(private readonly game: GameService) {}

  handleConnection(_client: Socket): void {
    this.game.connections.push(TraceContext.current()?.traceId);
  }

  @SubscribeMessage('createRoom')
  async handleCreateRoom(
    @MessageBody() body: { name: string; delayMs?: number },
    @ConnectedSocket() _client: Socket,
  ): Promise<{ room: { name: string }; traceId: string | undefined }> {
    const room = await this.game.createRoom(body.name, body.delayMs ?? 0);
    return { room, traceId: TraceContext.current()?.traceId };
  }

  @SubscribeMessage('ping')
  ping(@MessageBody() n: number): { n: number; traceId: string | undefined } {
    return { n, traceId: TraceContext.current()?.traceId };
  }
}

/** A gateway WITHOUT any @Trace: only the library's DI-time handler binding can trace it. */
@WebSocketGateway({ namespace: '/plain' })
export class PlainGateway {
  @SubscribeMessage('work')
  async work(@MessageBody() ms: number): Promise<{ traceId: string | undefined }> {
    await sleep(ms);
    return { traceId: TraceContext.current()?.traceId };
  }
}
