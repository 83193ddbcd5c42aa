import 'reflect-metadata';
import { Controller, Get, Injectable, Module, UseInterceptors } from '@nestjs/common';
import type { CallHandler, ExecutionContext, INestApplication, NestInterceptor } from '@nestjs/common';
import { APP_INTERCEPTOR } from '@nestjs/core';
import { Test } from '@nestjs/testing';
import { MessageBody, SubscribeMessage, WebSocketGateway } from '@nestjs/websockets';
import { io } from 'socket.io-client';
import type { Socket as ClientSocket } from 'socket.io-client';
import type { Observable } from 'rxjs';
import request from 'supertest';
import { TraceContext, TraceModule } from 'nestjs-trace';
import { ReportCapture, sleep } from '../support/report-capture';

/** Reports reach the test through the library's output seam (`stream`), never through stdout. */
const capture = new ReportCapture();

/**
 * Pins the Nest 11 fact the library works around (nestjs/nest#1598): @nestjs/websockets 11 builds the gateway
 * interceptor context without the application config, so an APP_INTERCEPTOR never runs for a gateway handler, while
 * one bound with @UseInterceptors does. If this spec starts failing, Nest changed that behaviour: revisit
 * src/entry/ws.entry.ts (the gateway binding must then not open a second trace).
 */
const calls: string[] = [];

abstract class Recorder implements NestInterceptor {
  protected abstract readonly scope: string;
  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    calls.push(`${this.scope} ${context.getType()} ${context.getClass().name}.${context.getHandler().name}`);
    return next.handle();
  }
}
@Injectable()
class GlobalRecorder extends Recorder {
  protected readonly scope = 'global';
}
@Injectable()
class LocalRecorder extends Recorder {
  protected readonly scope = 'local';
}

@Controller('pin')
class PinController {
  @Get()
  get(): { ok: true } {
    return { ok: true };
  }
}

@WebSocketGateway({ namespace: '/pin' })
class PinGateway {
  @SubscribeMessage('plain')
  plain(@MessageBody() ms: number): Promise<{ traceId: string | undefined }> {
    return sleep(ms).then(() => ({ traceId: TraceContext.current()?.traceId }));
  }

  @SubscribeMessage('local')
  @UseInterceptors(LocalRecorder)
  local(): { ok: true } {
    return { ok: true };
  }
}

@Module({
  imports: [TraceModule.forRoot({ stream: capture, slowThresholdMs: 100, format: 'json', hungThresholdMs: 0 })],
  controllers: [PinController],
  providers: [PinGateway, LocalRecorder, { provide: APP_INTERCEPTOR, useClass: GlobalRecorder }],
})
class PinAppModule {}

const websocketsVersion = (require('@nestjs/websockets/package.json') as { version: string }).version;

describe(`@nestjs/websockets ${websocketsVersion}: global interceptors and gateways`, () => {
  let app: INestApplication;
  let client: ClientSocket | undefined;

  beforeAll(async () => {
    app = (await Test.createTestingModule({ imports: [PinAppModule] }).compile()).createNestApplication();
    await app.listen(0, '127.0.0.1');
    const url = (await app.getUrl()).replace('[::1]', '127.0.0.1');
    client = await new Promise<ClientSocket>((resolve, reject) => {
      const socket = io(`${url}/pin`, { transports: ['websocket'], reconnection: false, timeout: 5000 });
      socket.once('connect', () => resolve(socket));
      socket.once('connect_error', reject);
    });
  });

  afterAll(async () => {
    client?.disconnect();
    await app?.close();
  });

  beforeEach(() => {
    calls.length = 0;
    capture.clear();
  });

  it('runs the APP_INTERCEPTOR for an HTTP handler (the recorder works)', async () => {
    await request(app.getHttpServer()).get('/pin').expect(200, { ok: true });
    expect(calls).toEqual(['global http PinController.get']);
  });

  it('runs a @UseInterceptors interceptor for a gateway handler but never the APP_INTERCEPTOR', async () => {
    expect(await client!.timeout(5000).emitWithAck('local', null)).toEqual({ ok: true });
    await client!.timeout(5000).emitWithAck('plain', 0);
    const global = calls.filter((call) => call.startsWith('global'));
    if (global.length > 0) {
      throw new Error(
        `@nestjs/websockets ${websocketsVersion} now runs global interceptors for gateway handlers (${global.join(', ')}); ` +
          'nestjs/nest#1598 is fixed in this version: update this pin and check the library does not trace gateway events twice',
      );
    }
    expect(calls).toEqual(['local ws PinGateway.local']);
  });

  it('still traces that gateway handler through the library (no global interceptor involved)', async () => {
    const ack = await client!.timeout(5000).emitWithAck('plain', 120);
    expect(ack.traceId).toMatch(/^[0-9a-f]{32}$/);
    const [record] = await capture.waitFor((r) => r.handler === 'PinGateway.plain');
    expect(record).toMatchObject({ outcome: 'slow', transport: 'ws', route: 'plain', traceId: ack.traceId });
    expect(record!.spans).toHaveLength(1);
    expect(calls.filter((call) => call.startsWith('global'))).toEqual([]);
  });
});
