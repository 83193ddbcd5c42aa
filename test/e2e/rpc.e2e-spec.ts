import 'reflect-metadata';
import { Controller, Module } from '@nestjs/common';
import type { INestApplication } from '@nestjs/common';
import { ClientProxyFactory, MessagePattern, Payload, RpcException, Transport } from '@nestjs/microservices';
import type { ClientProxy } from '@nestjs/microservices';
import { Test } from '@nestjs/testing';
import { BehaviorSubject, firstValueFrom, map, Observable, timer } from 'rxjs';
import { Trace, TraceContext, TraceModule } from '../../src/index.js';
import { freePort } from '../support/free-port.js';
import { ReportCapture, tree } from '../support/report-capture.js';
import { RoomService, sleep } from './fixtures/rooms.fixture.js';

/** Reports reach the test through the library's output seam (`stream`), never through stdout. */
const capture = new ReportCapture();

@Controller()
@Trace()
class MathController {
  constructor(private readonly rooms: RoomService) {}
  @MessagePattern({ cmd: 'sum' })
  async sum(@Payload() numbers: number[]): Promise<{ sum: number; traceId: string | undefined }> {
    await this.rooms.slow(120);
    return { sum: numbers.reduce((a, b) => a + b, 0), traceId: TraceContext.current()?.traceId };
  }
  @MessagePattern('whoami')
  whoami(@Payload() _data: { traceparent?: string }): { traceId: string | undefined } {
    return { traceId: TraceContext.current()?.traceId };
  }
  @MessagePattern('stream')
  stream(): Observable<number> {
    return timer(120).pipe(map(() => 42));
  }
  @MessagePattern('state')
  state(): BehaviorSubject<number> {
    const state = new BehaviorSubject(7);
    setTimeout(() => state.complete(), 120);
    return state;
  }
  @MessagePattern('explode')
  async explode(): Promise<never> {
    await sleep(1);
    throw new RpcException('kaboom');
  }
}

@Module({
  imports: [TraceModule.forRoot({ stream: capture, slowThresholdMs: 100, format: 'json', hungThresholdMs: 0 })],
  controllers: [MathController],
  providers: [RoomService],
})
class RpcAppModule {}

describe('RPC over TCP', () => {
  let app: INestApplication;
  let client: ClientProxy;

  beforeAll(async () => {
    const port = await freePort();
    app = (await Test.createTestingModule({ imports: [RpcAppModule] }).compile()).createNestApplication();
    app.connectMicroservice({ transport: Transport.TCP, options: { host: '127.0.0.1', port } });
    await app.startAllMicroservices();
    await app.init();
    client = ClientProxyFactory.create({ transport: Transport.TCP, options: { host: '127.0.0.1', port } });
    await client.connect();
  });
  afterAll(async () => {
    client.close();
    await app.close();
  });

  it('reports a slow RPC handler with its pattern and call tree; the reply is unchanged', async () => {
    const reply = await firstValueFrom(client.send<{ sum: number; traceId: string }>({ cmd: 'sum' }, [1, 2, 3]));
    expect(reply.sum).toBe(6);
    const [record] = await capture.waitFor((r) => r.transport === 'rpc' && r.outcome === 'slow');
    expect(record).toMatchObject({ handler: 'MathController.sum', route: '{"cmd":"sum"}', traceId: reply.traceId });
    expect(tree(record!)).toEqual([
      'MathController.sum',
      '  RoomService.slow',
      '    RoomService.validate',
      '    RoomService.save',
    ]);
  });

  it.each([
    ['stream', 'a plain Observable', 42],
    ['state', 'a BehaviorSubject', 7],
  ])('ends the root of handler "%s" (returns %s) when its stream completes', async (pattern, _kind, value) => {
    await expect(firstValueFrom(client.send<number>(pattern, {}))).resolves.toBe(value);
    const [record] = await capture.waitFor((r) => r.transport === 'rpc' && r.route === pattern);
    expect(record).toMatchObject({ outcome: 'slow', handler: `MathController.${pattern}` });
    expect(record!.durationMs).toBeGreaterThanOrEqual(100);
  });

  it('reports a failing RPC handler; the caller gets the same RPC error', async () => {
    await expect(firstValueFrom(client.send('explode', {}))).rejects.toMatchObject({
      status: 'error',
      message: 'kaboom',
    });
    const [record] = await capture.waitFor((r) => r.transport === 'rpc' && r.outcome === 'error');
    expect(record).toMatchObject({ handler: 'MathController.explode', route: 'explode' });
    expect(record!.error).toMatchObject({ name: 'RpcException', message: 'kaboom' });
  });

  it('continues a traceparent field of the message payload; ignores a malformed one', async () => {
    const traceId = '5bf92f3577b34da6a3ce929d0e0e4737';
    const continued = await firstValueFrom(
      client.send<{ traceId: string }>('whoami', { traceparent: `00-${traceId}-00f067aa0ba902b7-01` }),
    );
    expect(continued.traceId).toBe(traceId);
    const fresh = await firstValueFrom(
      client.send<{ traceId: string }>('whoami', { traceparent: 'not-a-traceparent' }),
    );
    expect(fresh.traceId).toMatch(/^[0-9a-f]{32}$/);
    expect(fresh.traceId).not.toBe(traceId);
  });
});
