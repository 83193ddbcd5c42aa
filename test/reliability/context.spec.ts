// Context propagation: emitters bound with AsyncResource.bind, custom thenables under 100 concurrent requests,
// `onAny` handlers, exception filters that see the handler's trace (HttpException and WsException), and awaiting a
// custom thenable keeps the context.
import 'reflect-metadata';
import { AsyncResource } from 'node:async_hooks';
import { EventEmitter } from 'node:events';
import { Catch, Controller, Get, HttpException, Injectable, Module, Param } from '@nestjs/common';
import type { ArgumentsHost, ExceptionFilter, INestApplication } from '@nestjs/common';
import { APP_FILTER } from '@nestjs/core';
import { Test } from '@nestjs/testing';
import {
  BaseWsExceptionFilter,
  ConnectedSocket,
  MessageBody,
  SubscribeMessage,
  WebSocketGateway,
  WsException,
} from '@nestjs/websockets';
import { UseFilters } from '@nestjs/common';
import { io } from 'socket.io-client';
import type { Socket as ClientSocket } from 'socket.io-client';
import type { Socket } from 'socket.io';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Trace, TraceContext, TraceModule } from '../../src/index.js';
import { ReportCapture, sleep } from '../support/report-capture.js';
import { keepIdleSockets } from '../support/keep-idle-sockets.js';

/** Reports reach the test through the library's output seam (`stream`), never through stdout. */
const capture = new ReportCapture();

const traceId = (): string | undefined => TraceContext.current()?.traceId;

/** A thenable that is not a Promise: resolves later, from a timer. */
function laterThenable<T>(value: T, ms: number): PromiseLike<T> {
  return {
    then<R1 = T, R2 = never>(onFulfilled?: ((v: T) => R1 | PromiseLike<R1>) | null): PromiseLike<R1 | R2> {
      setTimeout(() => void onFulfilled?.(value), ms);
      return this as unknown as PromiseLike<R1 | R2>;
    },
  };
}

// Created at module load, outside any request: its events are emitted from a bootstrap-time interval.
const bus = new EventEmitter();
bus.setMaxListeners(0);

const seen = { service: new Map<string, string | undefined>(), filter: new Map<string, string | undefined>() };

@Trace()
@Injectable()
class Work {
  async step(key: string): Promise<string | undefined> {
    // A bound listener runs in the context where it was bound, whoever emits.
    const fromEmitter = await new Promise<string | undefined>((resolve) =>
      bus.once(
        key,
        AsyncResource.bind(() => resolve(traceId())),
      ),
    );
    const fromThenable = await laterThenable(traceId(), Math.random() * 5);
    await new Promise<void>((resolve) => setImmediate(resolve));
    await new Promise<void>((resolve) => process.nextTick(resolve));
    const after = traceId();
    return fromEmitter === after && fromThenable === after ? after : `mismatch ${fromEmitter} ${fromThenable} ${after}`;
  }
  record(key: string): void {
    seen.service.set(key, traceId());
  }
}

@Controller()
class ContextController {
  constructor(private readonly work: Work) {}
  @Get('ctx/:key')
  async ctx(@Param('key') key: string): Promise<{ handler: string | undefined; inner: string | undefined }> {
    const inner = await this.work.step(key);
    return { handler: traceId(), inner };
  }
  @Get('fail/:key/:status')
  fail(@Param('key') key: string, @Param('status') status: string): never {
    this.work.record(key);
    throw new HttpException({ message: 'deliberate', key }, Number(status));
  }
}

@Catch()
class RecordingFilter implements ExceptionFilter {
  catch(exception: unknown, host: ArgumentsHost): void {
    const response = host.switchToHttp().getResponse<{ status(code: number): { json(body: unknown): void } }>();
    const status = exception instanceof HttpException ? exception.getStatus() : 500;
    const body = exception instanceof HttpException ? (exception.getResponse() as { key?: string }) : {};
    if (body.key) seen.filter.set(body.key, traceId());
    response.status(status).json({ status, filterTraceId: traceId() ?? null });
  }
}

@Catch()
class RecordingWsFilter extends BaseWsExceptionFilter {
  override catch(exception: unknown, host: ArgumentsHost): void {
    const data = host.switchToWs().getData<{ key?: string }>();
    if (data?.key) seen.filter.set(`ws:${data.key}`, traceId());
    super.catch(exception, host);
  }
}

@WebSocketGateway({ namespace: '/ctx' })
@UseFilters(RecordingWsFilter)
class ContextGateway {
  constructor(private readonly work: Work) {}
  handleConnection(client: Socket): void {
    // `onAny` runs outside Nest's handlers; it sees no request's trace, and TraceContext.run gives it its own.
    client.onAny((event: string, ...args: unknown[]) => {
      const ack = args[args.length - 1];
      if (event !== 'any' || typeof ack !== 'function') return;
      const outside = traceId();
      void TraceContext.run('onAny', async () => {
        await sleep(Math.random() * 5);
        (ack as (value: unknown) => void)({ outside: outside ?? null, inside: traceId() });
      });
    });
  }
  @SubscribeMessage('fail')
  fail(@MessageBody() data: { key: string }, @ConnectedSocket() _client: Socket): never {
    this.work.record(`ws:${data.key}`);
    throw new WsException('deliberate ws failure');
  }
}

@Module({
  imports: [
    TraceModule.forRoot({
      stream: capture,
      format: 'json',
      slowThresholdMs: 60_000,
      hungThresholdMs: 0,
      otel: { enabled: false },
    }),
  ],
  controllers: [ContextController],
  providers: [Work, ContextGateway, { provide: APP_FILTER, useClass: RecordingFilter }],
})
class ContextModule {}

describe('context through emitters, thenables, filters and onAny', () => {
  let app: INestApplication;
  let url: string;
  let ticker: NodeJS.Timeout;
  const unhandled: unknown[] = [];
  const onUnhandled = (reason: unknown): void => void unhandled.push(reason);

  beforeAll(async () => {
    process.on('unhandledRejection', onUnhandled);
    app = (await Test.createTestingModule({ imports: [ContextModule] }).compile()).createNestApplication({
      logger: false,
    });
    await app.listen(0, '127.0.0.1');
    keepIdleSockets(app);
    url = (await app.getUrl()).replace('[::1]', '127.0.0.1');
    // Emits every pending key from outside any request.
    ticker = setInterval(() => {
      for (const name of bus.eventNames()) bus.emit(name);
    }, 3);
  });
  afterAll(async () => {
    clearInterval(ticker);
    await app.close();
    process.off('unhandledRejection', onUnhandled);
    expect(unhandled).toEqual([]);
  });

  it('100 concurrent requests keep their own trace through a bound emitter, a custom thenable, setImmediate and nextTick', async () => {
    const bodies = await Promise.all(
      Array.from({ length: 100 }, (_, i) =>
        fetch(`${url}/ctx/k${i}`).then((r) => r.json() as Promise<{ handler?: string; inner?: string }>),
      ),
    );
    for (const body of bodies) {
      expect(body.handler).toMatch(/^[0-9a-f]{32}$/);
      expect(body.inner).toBe(body.handler);
    }
    expect(new Set(bodies.map((b) => b.handler)).size).toBe(100);
  });

  it.each([400, 500])(
    "HttpException %i keeps its status and is reported once with the service's trace",
    async (status) => {
      const key = `s${status}`;
      const response = await fetch(`${url}/fail/${key}/${status}`);
      expect(response.status).toBe(status);
      const records = await capture.waitFor((r) => r.outcome === 'error' && r.traceId === seen.service.get(key));
      expect(records).toHaveLength(1);
    },
  );

  // nestjs/nest#15317: Nest's router proxy awaits the handler outside any interceptor's context, so an HTTP exception
  // filter sees a trace only because TraceMiddleware opens it before the router.
  it.each([400, 403, 404, 500])(
    "the global exception filter sees the service's trace for HttpException %i; status unchanged",
    async (status) => {
      const key = `h${status}`;
      const response = await fetch(`${url}/fail/${key}/${status}`);
      expect(response.status).toBe(status);
      const body = (await response.json()) as { status: number; filterTraceId: string | null };
      expect(seen.service.get(key)).toMatch(/^[0-9a-f]{32}$/);
      expect(seen.filter.get(key)).toBe(seen.service.get(key));
      expect(body.filterTraceId).toBe(seen.service.get(key));
      const [record] = await capture.waitFor(
        (r) => r.outcome === 'error' && r.route === 'GET /fail/:key/:status' && r.traceId === seen.service.get(key),
      );
      expect(record!.spans[0]!.name).toBe('ContextController.fail');
    },
  );

  describe('Socket.IO', () => {
    const clients: ClientSocket[] = [];
    const connect = (transport: 'websocket' | 'polling'): Promise<ClientSocket> =>
      new Promise((resolve, reject) => {
        const socket = io(`${url}/ctx`, { transports: [transport], reconnection: false, timeout: 5000 });
        clients.push(socket);
        socket.once('connect', () => resolve(socket));
        socket.once('connect_error', reject);
      });
    afterAll(async () => {
      for (const client of clients) client.disconnect();
      await sleep(200);
    });

    it("a WsException filter sees the service's trace; the client still gets the exception event", async () => {
      const client = await connect('websocket');
      const exception = new Promise<unknown>((resolve) => client.once('exception', resolve));
      client.emit('fail', { key: 'w1' });
      expect(await exception).toMatchObject({ status: 'error', message: 'deliberate ws failure' });
      expect(seen.service.get('ws:w1')).toMatch(/^[0-9a-f]{32}$/);
      expect(seen.filter.get('ws:w1')).toBe(seen.service.get('ws:w1'));
      await capture.waitFor(
        (r) => r.outcome === 'error' && r.transport === 'ws' && r.traceId === seen.service.get('ws:w1'),
      );
    });

    it('onAny handlers of websocket-only and polling-only clients see no request trace, and TraceContext.run gives each its own', async () => {
      const sockets = [
        ...(await Promise.all([0, 1, 2, 3, 4].map(() => connect('websocket')))),
        ...(await Promise.all([0, 1, 2, 3, 4].map(() => connect('polling')))),
      ];
      const acks = await Promise.all(
        sockets.flatMap((socket) =>
          Array.from(
            { length: 10 },
            () => socket.timeout(5000).emitWithAck('any') as Promise<{ outside: string | null; inside: string }>,
          ),
        ),
      );
      for (const ack of acks) {
        expect(ack.outside).toBeNull();
        expect(ack.inside).toMatch(/^[0-9a-f]{32}$/);
      }
      expect(new Set(acks.map((a) => a.inside)).size).toBe(acks.length);
    });
  });
});
