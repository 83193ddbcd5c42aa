import 'reflect-metadata';
import { Module } from '@nestjs/common';
import type { INestApplication } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { io } from 'socket.io-client';
import type { Socket as ClientSocket } from 'socket.io-client';
import { TraceContext, TraceModule } from 'nestjs-trace';
import { ReportCapture, sleep, tree } from '../support/report-capture';
import { GameGateway, GameService, PlainGateway } from '../support/game.fixture';

/** Reports reach the test through the library's output seam (`stream`), never through stdout. */
const capture = new ReportCapture();

@Module({
  imports: [TraceModule.forRoot({ stream: capture, slowThresholdMs: 100, format: 'json', hungThresholdMs: 0 })],
  providers: [GameService, GameGateway, PlainGateway],
})
class WsAppModule {}

// On @nestjs/websockets 11 global interceptors never run for gateways (see nest11-global-interceptors.e2e-spec.ts):
// the library's DI-time binding traces everything here (it wraps the handlers and puts its interceptor on the class).
describe('Nest 11 / Socket.IO gateway on a namespace', () => {
  let app: INestApplication;
  let url: string;
  const clients: ClientSocket[] = [];

  function connect(
    namespace: string,
    transport: 'websocket' | 'polling' = 'websocket',
    auth?: Record<string, string>,
  ): Promise<ClientSocket> {
    return new Promise((resolve, reject) => {
      const socket = io(`${url}${namespace}`, { transports: [transport], reconnection: false, timeout: 5000, auth });
      clients.push(socket);
      socket.once('connect', () => resolve(socket));
      socket.once('connect_error', reject);
    });
  }

  beforeAll(async () => {
    app = (await Test.createTestingModule({ imports: [WsAppModule] }).compile()).createNestApplication();
    await app.listen(0, '127.0.0.1');
    url = (await app.getUrl()).replace('[::1]', '127.0.0.1');
  });

  afterAll(async () => {
    for (const client of clients) client.disconnect();
    // Let polling clients finish their last request before the server goes away.
    await sleep(200);
    await app?.close();
  });

  beforeEach(() => capture.clear());

  it('routes a class-traced gateway, keeps the ack and reports a slow event with its call tree', async () => {
    const client = await connect('/game');
    const ack = await client.timeout(5000).emitWithAck('createRoom', { name: 'lobby', delayMs: 150 });
    expect(ack.room).toEqual({ name: 'lobby' });
    // TraceContext.current() is defined inside the handler ...
    expect(ack.traceId).toMatch(/^[0-9a-f]{32}$/);
    const [record] = await capture.waitFor((r) => r.outcome === 'slow' && r.transport === 'ws');
    // ... and it is the very trace that gets reported.
    expect(record).toMatchObject({
      handler: 'GameGateway.handleCreateRoom',
      route: 'createRoom',
      traceId: ack.traceId,
      droppedSpans: 0,
    });
    expect(record!.durationMs).toBeGreaterThanOrEqual(140);
    expect(tree(record!)).toEqual([
      'GameGateway.handleCreateRoom',
      '  GameService.createRoom',
      '    GameService.validateRoom',
      '    GameService.saveRoom',
    ]);
    expect(record!.metrics?.eventLoop).toBeDefined();
    expect(TraceContext.current()).toBeUndefined();
  });

  it('reports a failing event; the client still gets the exception event unchanged', async () => {
    const client = await connect('/game');
    const exception = new Promise<unknown>((resolve) => client.once('exception', resolve));
    client.emit('createRoom', { name: 'full' });
    // Nest 11's BaseWsExceptionFilter payload, cause included, exactly as without the library.
    expect(await exception).toEqual({
      status: 'error',
      message: 'Room is full',
      cause: { pattern: 'createRoom', data: { name: 'full' } },
    });
    const [record] = await capture.waitFor((r) => r.outcome === 'error' && r.transport === 'ws');
    expect(record).toMatchObject({ handler: 'GameGateway.handleCreateRoom', route: 'createRoom' });
    expect(record!.error).toMatchObject({ name: 'WsException', message: 'Room is full' });
    expect(record!.spans.find((s) => s.name === 'GameService.validateRoom')).toMatchObject({
      depth: 2,
      error: 'Room is full',
    });
  });

  it('traces a gateway that carries no @Trace at all', async () => {
    const client = await connect('/plain');
    const ack = await client.timeout(5000).emitWithAck('work', 120);
    expect(ack.traceId).toMatch(/^[0-9a-f]{32}$/);
    const [record] = await capture.waitFor((r) => r.handler === 'PlainGateway.work');
    expect(record).toMatchObject({ outcome: 'slow', transport: 'ws', route: 'work', traceId: ack.traceId });
    expect(tree(record!)).toEqual(['PlainGateway.work']);
  });

  it('continues a handshake traceparent for a handler whose arguments carry no socket', async () => {
    // The library puts its interceptor on gateway classes (class interceptors run on Nest 11, global ones do not),
    // so the socket's handshake is read from the execution context, not from the handler's arguments.
    const traceId = '2af7651916cd43dd8448eb211c80319e';
    const client = await connect('/plain', 'websocket', { traceparent: `00-${traceId}-b7ad6b7169203331-01` });
    const ack = await client.timeout(5000).emitWithAck('work', 1);
    expect(ack.traceId).toBe(traceId);
  });

  it('traces handleConnection as a ws "connection" trace', async () => {
    const service = app.get(GameService);
    const before = service.connections.length;
    await connect('/game', 'polling');
    await sleep(50);
    expect(service.connections[before]).toMatch(/^[0-9a-f]{32}$/);
  });

  it('keeps concurrent clients in their own traces', async () => {
    const many = await Promise.all(
      Array.from({ length: 6 }, (_, i) => connect('/game', i % 2 ? 'polling' : 'websocket')),
    );
    const acks = await Promise.all(
      many.flatMap((client, i) =>
        Array.from({ length: 5 }, (_, k) => client.timeout(8000).emitWithAck('ping', i * 100 + k)),
      ),
    );
    expect(new Set(acks.map((a: { traceId: string }) => a.traceId)).size).toBe(30);
    acks.forEach((ack: { n: number }, index: number) => expect(ack.n).toBe(Math.floor(index / 5) * 100 + (index % 5)));
  });
});
