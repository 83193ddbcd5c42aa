import 'reflect-metadata';
import { Module } from '@nestjs/common';
import type { INestApplication } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { Registry } from 'prom-client';
import request from 'supertest';
import { TraceModule } from '../../src/index.js';
import { RoomService, RoomsController, RolesGuard } from './fixtures/rooms.fixture.js';
import { keepIdleSockets } from '../support/keep-idle-sockets.js';

describe('Prometheus histograms', () => {
  const registry = new Registry();
  let app: INestApplication;

  beforeAll(async () => {
    @Module({
      imports: [
        TraceModule.forRoot({
          prometheus: { registry, methods: true },
          slowThresholdMs: 10_000,
          otel: { enabled: false },
        }),
      ],
      controllers: [RoomsController],
      providers: [RoomService, RolesGuard],
    })
    class PromAppModule {}
    app = (await Test.createTestingModule({ imports: [PromAppModule] }).compile()).createNestApplication({
      logger: false,
    });
    await app.listen(0, '127.0.0.1');
    keepIdleSockets(app);
  });
  afterAll(() => app.close());

  it('counts N requests per handler, with route patterns (not raw URLs) as the bound on label sets', async () => {
    const url = (await app.getUrl()).replace('[::1]', '127.0.0.1');
    for (let batch = 0; batch < 10_000; batch += 250) {
      const statuses = await Promise.all(
        Array.from({ length: 250 }, (_, i) => fetch(`${url}/rooms/${batch + i}`).then((r) => r.status)),
      );
      expect(statuses.every((status) => status === 200)).toBe(true);
    }
    await request(app.getHttpServer()).get('/rooms/1/fail').expect(500);
    const text = await registry.metrics();
    expect(text).toContain('# TYPE nestjs_trace_handler_duration_seconds histogram');
    expect(text).toContain(
      'nestjs_trace_handler_duration_seconds_count{transport="http",handler="RoomsController.find",outcome="ok"} 10000',
    );
    expect(text).toContain(
      'nestjs_trace_handler_duration_seconds_count{transport="http",handler="RoomsController.fail",outcome="error"} 1',
    );
    expect(text).toContain('nestjs_trace_method_duration_seconds_count{method="RoomService.find"} 10000');
    const labelSets = new Set(
      text
        .split('\n')
        .filter((l) => l.startsWith('nestjs_trace_handler_duration_seconds_count'))
        .map((l) => l.split(' ')[0]),
    );
    expect(labelSets.size).toBe(2);
    expect(text).not.toMatch(/rooms\/\d/);
  }, 60_000);

  it('rejects bad buckets at bootstrap', async () => {
    @Module({ imports: [TraceModule.forRoot({ prometheus: { buckets: [-1] } })] })
    class Bad {}
    await expect(Test.createTestingModule({ imports: [Bad] }).compile()).rejects.toThrow(/"prometheus.buckets"/);
  });
});
