import 'reflect-metadata';
import { Module } from '@nestjs/common';
import type { INestApplication } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import request from 'supertest';
import { TraceContext, TraceModule } from 'nestjs-trace';
import { ReportCapture, tree } from '../support/report-capture';
import { RoomService, RoomsController, RolesGuard } from '../support/rooms.fixture';

/** Reports reach the test through the library's output seam (`stream`), never through stdout. */
const capture = new ReportCapture();

@Module({
  imports: [TraceModule.forRoot({ stream: capture, slowThresholdMs: 100, format: 'json', hungThresholdMs: 0 })],
  controllers: [RoomsController],
  providers: [RoomService, RolesGuard],
})
class HttpAppModule {}

describe('Nest 11 / Express: HTTP', () => {
  let app: INestApplication;

  beforeAll(async () => {
    const moduleRef = await Test.createTestingModule({ imports: [HttpAppModule] }).compile();
    app = moduleRef.createNestApplication();
    await app.listen(0, '127.0.0.1');
  });

  afterAll(async () => {
    await app?.close();
  });

  beforeEach(() => capture.clear());

  it('routes a class-traced controller as without the library and reports nothing for fast calls', async () => {
    await request(app.getHttpServer()).get('/rooms/7').expect(200, { id: '7' });
    await request(app.getHttpServer()).post('/rooms').send({ name: 'lobby' }).expect(201, { name: 'lobby' });
    await new Promise((resolve) => setTimeout(resolve, 150));
    expect(capture.reports).toHaveLength(0);
  });

  it('reports a slow call with handler, route pattern and nested service spans', async () => {
    const response = await request(app.getHttpServer()).get('/rooms/42/slow?ms=150&secret=x').expect(200);
    expect(response.body).toMatchObject({ id: '42', untraced: 'untraced' });
    const [record] = await capture.waitFor((r) => r.outcome === 'slow');
    expect(record).toMatchObject({
      type: 'trace',
      transport: 'http',
      handler: 'RoomsController.slow',
      route: 'GET /rooms/:id/slow',
      droppedSpans: 0,
    });
    expect(record!.traceId).toMatch(/^[0-9a-f]{32}$/);
    expect(record!.traceId).toBe(response.body.traceId);
    expect(record!.durationMs).toBeGreaterThanOrEqual(140);
    // The root is counted once although the controller is @Trace()d too; @NoTrace() keeps `untraced` out.
    expect(tree(record!)).toEqual([
      'RoomsController.slow',
      '  RoomService.slow',
      '    RoomService.validate',
      '    RoomService.save',
    ]);
    expect(record!.metrics?.cpu).toBeDefined();
    expect(record!.metrics?.memory).toBeDefined();
    expect(record!.metrics?.eventLoop).toBeDefined();
    expect(JSON.stringify(record)).not.toContain('secret');
    expect(TraceContext.current()).toBeUndefined();
  });

  it('reports a failing call and keeps the 500 Nest sends', async () => {
    const response = await request(app.getHttpServer()).get('/rooms/1/fail').expect(500);
    expect(response.body).toEqual({ statusCode: 500, message: 'Internal server error' });
    const [record] = await capture.waitFor((r) => r.outcome === 'error');
    expect(record).toMatchObject({ transport: 'http', handler: 'RoomsController.fail', route: 'GET /rooms/:id/fail' });
    expect(record!.error).toMatchObject({ name: 'Error', message: 'Room is full' });
    expect(record!.error?.stack).toContain('RoomService');
    expect(record!.spans[1]).toMatchObject({ name: 'RoomService.fail', depth: 1, error: 'Room is full' });
    // Nest 11's exception handler logs the error through its Logger inside the trace (the testing module's logger,
    // with no log levels set): captureLogs puts the line on the root span.
    expect(record!.spans[0]!.logs).toEqual(['ERROR [ExceptionsHandler] Error: Room is full']);
  });

  it('keeps an HttpException response and reports it', async () => {
    await request(app.getHttpServer())
      .get('/rooms/1/forbidden')
      .expect(403, { statusCode: 403, message: 'not yours', error: 'Forbidden' });
    const [record] = await capture.waitFor((r) => r.handler === 'RoomsController.forbidden');
    expect(record!.error).toMatchObject({ name: 'ForbiddenException', message: 'not yours' });
  });

  it('keeps @SetMetadata on traced handlers: a roles guard still rejects and admits', async () => {
    await request(app.getHttpServer()).get('/rooms/1/admin').expect(403);
    await request(app.getHttpServer()).get('/rooms/1/admin').set('x-role', 'admin').expect(200, { ok: true });
  });
});
