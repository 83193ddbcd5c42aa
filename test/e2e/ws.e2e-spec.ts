import 'reflect-metadata';
import { Module } from '@nestjs/common';
import type { INestApplication } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { io } from 'socket.io-client';
import type { Socket as ClientSocket } from 'socket.io-client';
import { TraceContext, TraceModule } from '../../src/index.js';
import { ReportCapture, tree } from '../support/report-capture.js';
import { GameGateway, GameService } from './fixtures/game.fixture.js';

/** Reports reach the test through the library's output seam (`stream`), never through stdout. */
const capture = new ReportCapture();

@Module({
  imports: [TraceModule.forRoot({ stream: capture, slowThresholdMs: 100, format: 'json', hungThresholdMs: 0 })],
  providers: [GameService, GameGateway],
})
class WsAppModule {}

function connect(
  url: string,
  transport: 'websocket' | 'polling',
  options: Record<string, unknown> = {},
): Promise<ClientSocket> {
  return new Promise((resolve, reject) => {
    const socket = io(`${url}/game`, { transports: [transport], reconnection: false, timeout: 5000, ...options });
    socket.once('connect', () => resolve(socket));
    socket.once('connect_error', reject);
  });
}

describe('Socket.IO gateway', () => {
  let app: INestApplication;
  let url: string;
  const clients: ClientSocket[] = [];

  beforeAll(async () => {
    app = (await Test.createTestingModule({ imports: [WsAppModule] }).compile()).createNestApplication();
    await app.listen(0, '127.0.0.1');
    url = (await app.getUrl()).replace('[::1]', '127.0.0.1');
  });
  afterAll(async () => {
    for (const client of clients) client.disconnect();
    // Let polling clients finish their last request before the server (and Jest's environment) goes away.
    await new Promise((resolve) => setTimeout(resolve, 200));
    await app.close();
  });
  beforeEach(() => capture.clear());

  it('routes a class-traced gateway and reports a slow event with its call tree', async () => {
    const client = await connect(url, 'websocket');
    clients.push(client);
    const ack = await client.timeout(5000).emitWithAck('createRoom', { name: 'lobby', delayMs: 150 });
    expect(ack.room).toEqual({ name: 'lobby' });
    const [record] = await capture.waitFor((r) => r.outcome === 'slow' && r.transport === 'ws');
    expect(record).toMatchObject({
      handler: 'GameGateway.handleCreateRoom',
      route: 'createRoom',
      traceId: ack.traceId,
    });
    expect(tree(record!)).toEqual([
      'GameGateway.handleCreateRoom',
      '  GameService.createRoom',
      '    GameService.validateRoom',
      '    GameService.saveRoom',
    ]);
    expect(record!.metrics?.eventLoop).toBeDefined();
  });

  it('reports a failing event; the client still gets the exception event', async () => {
    const client = await connect(url, 'websocket');
    clients.push(client);
    const exception = new Promise<unknown>((resolve) => client.once('exception', resolve));
    client.emit('createRoom', { name: 'full' });
    expect(await exception).toMatchObject({ status: 'error', message: 'Room is full' });
    const [record] = await capture.waitFor((r) => r.outcome === 'error' && r.transport === 'ws');
    expect(record!.error).toMatchObject({ name: 'WsException', message: 'Room is full' });
    expect(record!.spans.find((s) => s.name === 'GameService.validateRoom')).toMatchObject({
      depth: 2,
      error: 'Room is full',
    });
  });

  it('traces handleConnection as a ws "connection" trace', async () => {
    const service = app.get(GameService);
    const before = service.connections.length;
    clients.push(await connect(url, 'polling'));
    await new Promise((resolve) => setTimeout(resolve, 50));
    const traceId = service.connections[before];
    expect(traceId).toMatch(/^[0-9a-f]{32}$/);
  });

  it('continues a traceparent from the handshake auth', async () => {
    const traceId = '0af7651916cd43dd8448eb211c80319c';
    const client = await connect(url, 'websocket', { auth: { traceparent: `00-${traceId}-b7ad6b7169203331-01` } });
    clients.push(client);
    const ack = await client.timeout(5000).emitWithAck('ping', 1);
    expect(ack.traceId).toBe(traceId);
  });

  it('continues a traceparent handshake header; a malformed one starts a new trace', async () => {
    const traceId = '1af7651916cd43dd8448eb211c80319d';
    const client = await connect(url, 'polling', {
      extraHeaders: { traceparent: `00-${traceId}-b7ad6b7169203331-01` },
    });
    clients.push(client);
    expect((await client.timeout(5000).emitWithAck('ping', 1)).traceId).toBe(traceId);
    const other = await connect(url, 'websocket', {
      auth: { traceparent: `00-${traceId}-b7ad6b7169203331-01\r\nx`.padEnd(10_000, 'x') },
    });
    clients.push(other);
    const fresh = await other.timeout(5000).emitWithAck('ping', 2);
    expect(fresh.traceId).toMatch(/^[0-9a-f]{32}$/);
    expect(fresh.traceId).not.toBe(traceId);
  });

  it('20 clients (websocket and polling) with interleaved events each see only their own traces', async () => {
    const many = await Promise.all(Array.from({ length: 20 }, (_, i) => connect(url, i % 2 ? 'polling' : 'websocket')));
    clients.push(...many);
    const acks = await Promise.all(
      many.flatMap((client, i) =>
        Array.from({ length: 5 }, (_, k) => client.timeout(8000).emitWithAck('ping', i * 100 + k)),
      ),
    );
    const ids = new Set(acks.map((a: { traceId: string }) => a.traceId));
    expect(ids.size).toBe(100);
    acks.forEach((ack: { n: number }, index: number) => expect(ack.n).toBe(Math.floor(index / 5) * 100 + (index % 5)));
    expect(TraceContext.current()).toBeUndefined();
  });
});
