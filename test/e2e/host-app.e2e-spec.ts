import 'reflect-metadata';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { Module } from '@nestjs/common';
import type { INestApplication } from '@nestjs/common';
import { MessagePattern } from '@nestjs/microservices';
import { Test } from '@nestjs/testing';
import { FastifyAdapter } from '@nestjs/platform-fastify';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { SubscribeMessage, WebSocketGateway } from '@nestjs/websockets';
import { Controller } from '@nestjs/common';
import request from 'supertest';
import { TraceContext, TraceModule } from '../../src/index.js';
import { ReportCapture, sleep, tree } from '../support/report-capture.js';
import { HostAppController, MailerService, TenantController, hostAppProviders } from './fixtures/host-app.fixture.js';
import { HTTP_PLATFORMS, startOnPlatform } from '../support/platform-app.js';

/** Reports reach the test through the library's output seam (`stream`), never through stdout. */
const capture = new ReportCapture();

@Module({
  imports: [
    TraceModule.forRoot({ stream: capture, slowThresholdMs: 0, logAll: true, format: 'json', hungThresholdMs: 0 }),
  ],
  controllers: [HostAppController, TenantController],
  providers: hostAppProviders,
})
class HostAppModule {}

describe.each(HTTP_PLATFORMS)('the app sees what it would without the library, over %s', (platform) => {
  let app: INestApplication;

  beforeAll(async () => {
    app = await startOnPlatform(HostAppModule, platform);
  });

  afterAll(async () => {
    await app.close();
  });

  beforeEach(() => capture.clear());

  it('a traced method returning a Subject, BehaviorSubject or ReplaySubject hands back the very object', async () => {
    const response = await request(app.getHttpServer()).get('/channel').expect(200);
    expect(response.body).toMatchObject({ history: ['h'] });
    expect(response.body.heard).toContain('hello');
    expect(response.body.state).toBeGreaterThanOrEqual(2);
    const [record] = await capture.waitFor((r) => r.handler === 'HostAppController.channel');
    expect(record!.outcome).not.toBe('error');
    expect(tree(record!)).toContain('  ChannelService.channel');
  });

  it('a promise the method handles itself and the caller does not await is left as it is', async () => {
    await request(app.getHttpServer()).get('/mail').expect(200, { queued: true });
    const [record] = await capture.waitFor((r) => r.handler === 'HostAppController.mail');
    await sleep(50);
    expect(app.get(MailerService).failures).toContain('smtp refused ops@example.com');
    expect(record!.spans.map((s) => s.name)).toContain('MailerService.send');
  });

  it('a traced interceptor, guard and pipe appear as spans and the handler still names the trace', async () => {
    const response = await request(app.getHttpServer()).get('/intercepted/abc').expect(200);
    expect(response.body.id).toBe('ABC');
    const [record] = await capture.waitFor((r) => r.handler === 'HostAppController.intercepted');
    expect(record).toMatchObject({ outcome: 'slow', route: 'GET /intercepted/:id' });
    expect(record!.traceId).toBe(response.body.traceId);
    // Nest runs pipes inside the interceptors; the handler's own calls nest under the root, not under the
    // interceptor still open around it.
    expect(tree(record!)).toEqual([
      'HostAppController.intercepted',
      '  AllowGuard.canActivate',
      '  TimingInterceptor.intercept',
      '    UpperPipe.transform',
      '  OrderService.load',
    ]);
    expect(capture.reports.filter((r) => r.error?.name === 'RejectedBeforeHandler')).toEqual([]);
  });

  it('a handler error under a traced interceptor and filter is the handler error, not "rejected before the handler"', async () => {
    await request(app.getHttpServer()).get('/intercepted-failure').expect(418, { filtered: true, status: 418 });
    const [record] = await capture.waitFor((r) => r.handler === 'HostAppController.interceptedFailure');
    expect(record).toMatchObject({ outcome: 'error', error: { name: 'HttpException', message: 'teapot' } });
    expect(tree(record!)).toEqual([
      'HostAppController.interceptedFailure',
      '  TimingInterceptor.intercept',
      '  OrderService.load',
      '  PassThroughFilter.catch',
    ]);
  });

  it('a request an interceptor answered without calling the handler is reported, named after its route', async () => {
    await request(app.getHttpServer()).get('/cached').expect(200, { cached: true });
    const [record] = await capture.waitFor((r) => r.route === 'GET /cached');
    expect(record).toMatchObject({ outcome: 'slow', handler: 'GET /cached', transport: 'http' });
    expect(record!.spans[0]!.logs?.[0]).toContain('answered before the handler ran');
    expect(tree(record!)).toContain('  CacheHitInterceptor.intercept');
    expect(record!.durationMs).toBeGreaterThanOrEqual(15);
  });

  it('a host-constrained route whose host does not match is an unmatched 404: no report', async () => {
    await request(app.getHttpServer()).get('/tenant').set('Host', 'other.test').expect(404);
    await request(app.getHttpServer()).get('/tenant').set('Host', 'acme.example.com').expect(200, { tenant: true });
    await capture.waitFor((r) => r.handler === 'TenantController.home');
    await sleep(100);
    expect(capture.reports.map((r) => r.handler)).toEqual(['TenantController.home']);
  });
});

@WebSocketGateway()
class DirectGateway {
  @SubscribeMessage('ping')
  ping(): string {
    return 'pong';
  }
  handleConnection(_client: unknown): void {}
}

@Controller()
class DirectRpcController {
  @MessagePattern({ cmd: 'sum' })
  sum(data: number[]): number {
    return data.reduce((a, b) => a + b, 0);
  }
}

describe('a gateway or RPC method called directly (a unit test) opens no trace', () => {
  const direct = new ReportCapture();

  it('records nothing for a message handler, a connection hook with a stand-in socket, or an RPC handler', async () => {
    const moduleRef = await Test.createTestingModule({
      imports: [
        TraceModule.forRoot({ stream: direct, slowThresholdMs: 0, logAll: true, format: 'json', hungThresholdMs: 0 }),
      ],
      controllers: [DirectRpcController],
      providers: [DirectGateway],
    }).compile();
    expect(moduleRef.get(DirectGateway).ping()).toBe('pong');
    moduleRef.get(DirectGateway).handleConnection({ id: 'fake', handshake: { headers: {} } });
    expect(moduleRef.get(DirectRpcController).sum([1, 2])).toBe(3);
    await sleep(100);
    expect(direct.reports).toEqual([]);
    await moduleRef.close();
  });
});

describe('a traced method whose handled promise nobody awaits (in a real app process)', () => {
  it.each(HTTP_PLATFORMS)('does not crash the process over %s', async (platform) => {
    // Outside Jest, whose own handler would swallow the unhandled rejection; runs the built package.
    const { stdout } = await promisify(execFile)(
      process.execPath,
      ['test/e2e/fixtures/handled-promise-app.mjs', platform],
      { encoding: 'utf8', timeout: 20_000 },
    );
    expect(JSON.parse(stdout.trim().split('\n').pop()!)).toEqual({ status: 200, failures: 1 });
  });
});

describe.each(HTTP_PLATFORMS)('reports pending at app.close() over %s', (platform) => {
  it('are written before close() resolves, with their snapshot, and so are TraceContext.run reports', async () => {
    capture.clear();
    {
      const moduleRef = await Test.createTestingModule({ imports: [HostAppModule] }).compile();
      const app =
        platform === 'fastify'
          ? moduleRef.createNestApplication<NestFastifyApplication>(new FastifyAdapter())
          : moduleRef.createNestApplication();
      await app.listen(0, '127.0.0.1');
      const url = (await app.getUrl()).replace('[::1]', '127.0.0.1');
      const response = await fetch(`${url}/intercepted/last`);
      expect(response.status).toBe(200);
      await TraceContext.run('shutdown-script', () => sleep(5));
      // No wait for the reports: close() itself must write them (a SIGTERM with enableShutdownHooks does the same).
      await app.close();
      const handlers = capture.reports.map((r) => r.handler);
      expect(handlers).toEqual(expect.arrayContaining(['HostAppController.intercepted', 'shutdown-script']));
      const record = capture.reports.find((r) => r.handler === 'HostAppController.intercepted')!;
      expect(record.metrics?.cpu).toMatchObject({ cores: expect.any(Number) });
    }
  });
});
