import 'reflect-metadata';
import { Module } from '@nestjs/common';
import type { INestApplication } from '@nestjs/common';
import request from 'supertest';
import { TraceContext, TraceModule } from '../../src/index.js';
import { ReportCapture, tree } from '../support/report-capture.js';
import { RoomService, RoomsController, RolesGuard } from './fixtures/rooms.fixture.js';
import { HTTP_PLATFORMS, startOnPlatform } from '../support/platform-app.js';

/** Reports reach the test through the library's output seam (`stream`), never through stdout. */
const capture = new ReportCapture();

@Module({
  imports: [TraceModule.forRoot({ stream: capture, slowThresholdMs: 100, format: 'json', hungThresholdMs: 0 })],
  controllers: [RoomsController],
  providers: [RoomService, RolesGuard],
})
class HttpAppModule {}

describe.each(HTTP_PLATFORMS)('HTTP over %s', (platform) => {
  let app: INestApplication;

  beforeAll(async () => {
    app = await startOnPlatform(HttpAppModule, platform);
  });

  afterAll(async () => {
    await app.close();
  });

  beforeEach(() => capture.clear());

  it('answers a class-traced controller as without the library, and reports nothing for a fast call', async () => {
    const response = await request(app.getHttpServer()).get('/rooms/7').expect(200);
    expect(response.body).toEqual({ id: '7' });
    await request(app.getHttpServer()).post('/rooms').send({ name: 'lobby' }).expect(201, { name: 'lobby' });
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(capture.reports).toHaveLength(0);
  });

  it('reports a slow call with handler, route pattern, nesting and metrics', async () => {
    const response = await request(app.getHttpServer()).get('/rooms/42/slow?ms=150&secret=x').expect(200);
    const [record] = await capture.waitFor((r) => r.outcome === 'slow');
    expect(record).toMatchObject({
      type: 'trace',
      transport: 'http',
      handler: 'RoomsController.slow',
      route: 'GET /rooms/:id/slow',
      droppedSpans: 0,
    });
    expect(record!.traceId).toBe(response.body.traceId);
    expect(record!.durationMs).toBeGreaterThanOrEqual(140);
    expect(tree(record!)).toEqual([
      'RoomsController.slow',
      '  RoomService.slow',
      '    RoomService.validate',
      '    RoomService.save',
    ]);
    const [root, slow, validate, save] = record!.spans;
    expect(slow!.durationMs).toBeLessThanOrEqual(root!.durationMs);
    expect(validate!.startMs).toBeLessThanOrEqual(save!.startMs);
    expect(save!.startMs).toBeGreaterThanOrEqual(140);
    expect(record!.metrics?.cpu).toBeDefined();
    expect(record!.metrics?.memory).toBeDefined();
    expect(record!.metrics?.eventLoop).toBeDefined();
    expect(record!.metrics?.mysql).toBeNull();
    expect(record!.metrics?.redis).toBeNull();
    expect(JSON.stringify(record)).not.toContain('secret');
  });

  it('reports a failing call and keeps the response Nest would send', async () => {
    await request(app.getHttpServer()).get('/rooms/1/fail').expect(500);
    const [record] = await capture.waitFor((r) => r.outcome === 'error');
    expect(record).toMatchObject({ handler: 'RoomsController.fail', route: 'GET /rooms/:id/fail' });
    expect(record!.error).toMatchObject({ name: 'Error', message: 'Room is full' });
    expect(record!.error?.stack).toContain('RoomService');
    expect(record!.spans[1]).toMatchObject({ name: 'RoomService.fail', depth: 1, error: 'Room is full' });
    await request(app.getHttpServer()).get('/rooms/1/forbidden').expect(403);
    const [forbidden] = await capture.waitFor((r) => r.handler === 'RoomsController.forbidden');
    expect(forbidden!.error).toMatchObject({ name: 'ForbiddenException', message: 'not yours' });
  });

  it('keeps guard metadata: a roles guard still rejects, and the rejection is reported', async () => {
    await request(app.getHttpServer()).get('/rooms/1/admin').expect(403);
    const [rejected] = await capture.waitFor((r) => r.outcome === 'error' && r.error?.name === 'RejectedBeforeHandler');
    expect(rejected!.error!.message).toMatch(/^403 Forbidden: rejected before the handler ran/);
    // Made by the library, so a stack would show only the library's frames.
    expect(rejected!.error!.stack).toBeUndefined();
    expect(rejected!.transport).toBe('http');
    if (platform === 'express')
      expect(rejected).toMatchObject({ route: 'GET /rooms/:id/admin', handler: 'GET /rooms/:id/admin' });
    await request(app.getHttpServer()).get('/rooms/1/admin').set('x-role', 'admin').expect(200, { ok: true });
  });

  it('reports a request a pipe rejected before the handler (400), with its route', async () => {
    await request(app.getHttpServer()).get('/rooms/1/seat/abc').expect(400);
    const [rejected] = await capture.waitFor((r) => r.outcome === 'error' && r.error?.name === 'RejectedBeforeHandler');
    expect(rejected!.error!.message).toMatch(/^400 Bad Request: rejected before the handler ran/);
    expect(rejected).toMatchObject({
      transport: 'http',
      route: 'GET /rooms/:id/seat/:n',
      handler: 'GET /rooms/:id/seat/:n',
    });
    await request(app.getHttpServer()).get('/rooms/1/seat/3').expect(200, { id: '1', n: 3 });
  });

  it('reports an Observable handler that errors as a 5xx response error, named after the handler', async () => {
    await request(app.getHttpServer()).get('/rooms/1/broken-stream').expect(500);
    const [record] = await capture.waitFor((r) => r.outcome === 'error');
    expect(record).toMatchObject({ handler: 'RoomsController.brokenStream', route: 'GET /rooms/:id/broken-stream' });
    expect(record!.error).toMatchObject({ name: 'ServerErrorResponse', message: '500 Internal Server Error' });
  });

  it('registers no global interceptor (which would put every route through RxJS)', () => {
    // APP_INTERCEPTOR providers land in the application config (Nest's scanner): TraceModule adds none.
    const config = (
      app as unknown as { config: { getGlobalInterceptors(): unknown[]; getGlobalRequestInterceptors(): unknown[] } }
    ).config;
    expect(config.getGlobalInterceptors()).toHaveLength(0);
    expect(config.getGlobalRequestInterceptors()).toHaveLength(0);
  });

  it('opens no trace when a route handler is called directly, outside a request', async () => {
    await expect(app.get(RoomsController).slow('7', '110')).resolves.toEqual({ id: '7', traceId: undefined });
    await request(app.getHttpServer()).get('/rooms/8/slow?ms=110').expect(200);
    await capture.waitFor((r) => r.outcome === 'slow');
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(capture.reports.map((r) => r.handler)).toEqual(['RoomsController.slow']);
  });

  it('reports nothing for a request no handler took (404)', async () => {
    await request(app.getHttpServer()).get('/no/such/route').expect(404);
    await request(app.getHttpServer()).get('/rooms/1/slow?ms=110').expect(200);
    await capture.waitFor((r) => r.outcome === 'slow');
    expect(capture.reports.filter((r) => r.outcome === 'error')).toHaveLength(0);
  });

  it('times an Observable handler to completion', async () => {
    await request(app.getHttpServer()).get('/rooms/1/stream').expect(200, { n: 1 });
    const [record] = await capture.waitFor((r) => r.handler === 'RoomsController.stream');
    expect(record!.outcome).toBe('slow');
    expect(record!.durationMs).toBeGreaterThanOrEqual(110);
  });

  it('continues an incoming traceparent and ignores a malformed one', async () => {
    const traceId = '4bf92f3577b34da6a3ce929d0e0e4736';
    const ok = await request(app.getHttpServer())
      .get('/rooms/1/slow?ms=110')
      .set('traceparent', `00-${traceId}-00f067aa0ba902b7-01`)
      .expect(200);
    expect(ok.body.traceId).toBe(traceId);
    const bad = await request(app.getHttpServer())
      .get('/rooms/1/slow?ms=110')
      .set('traceparent', `00-${traceId}-zz-01`)
      .expect(200);
    expect(bad.body.traceId).toMatch(/^[0-9a-f]{32}$/);
    expect(bad.body.traceId).not.toBe(traceId);
    await capture.waitFor((r) => r.outcome === 'slow', 2);
    for (const line of capture.rawLines) expect(line.trimEnd().split('\n')).toHaveLength(1);
  });

  it('keeps 200 concurrent requests with interleaved nesting in their own traces', async () => {
    const patterns = ['ab', 'a.b', 'a!b~c', '.a.b.c', 'abc', '~a.b!'];
    const server = app.getHttpServer();
    const responses = await Promise.all(
      Array.from({ length: 200 }, (_, i) =>
        request(server).get(`/rooms/shaped/${encodeURIComponent(patterns[i % patterns.length]!)}`),
      ),
    );
    const ids = new Set<string>();
    for (const response of responses) {
      expect(response.status).toBe(200);
      const { traceId, seen } = response.body as { traceId: string; seen: string[] };
      ids.add(traceId);
      for (const step of seen) expect(step.endsWith(`:${traceId}`)).toBe(true);
    }
    expect(ids.size).toBe(200);
    expect(TraceContext.current()).toBeUndefined();
  });
});
