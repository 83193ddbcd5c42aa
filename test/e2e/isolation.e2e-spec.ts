import 'reflect-metadata';
import { Module } from '@nestjs/common';
import type { INestApplication } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import request from 'supertest';
import { TraceContext, TraceModule } from '../../src/index.js';
import { ReportCapture } from '../support/report-capture.js';
import { RoomService, RoomsController, RolesGuard } from './fixtures/rooms.fixture.js';

/** Reports reach the test through the library's output seam (`stream`), never through stdout. */
const capture = new ReportCapture();

@Module({
  imports: [TraceModule.forRoot({ stream: capture, logAll: true, format: 'json', slowThresholdMs: 10_000 })],
  controllers: [RoomsController],
  providers: [RoomService, RolesGuard],
})
class LogAllModule {}

describe('isolation under concurrency', () => {
  let app: INestApplication;

  beforeAll(async () => {
    app = (await Test.createTestingModule({ imports: [LogAllModule] }).compile()).createNestApplication();
    await app.init();
  });
  afterAll(async () => {
    await app.close();
  });

  it('200 concurrent requests with interleaved nesting produce 200 reports with exactly their own trees', async () => {
    const patterns = ['ab', 'a.b', 'a!b~c', '.a.b.c', 'abcd', '~a.b!'];
    const server = app.getHttpServer();
    const responses = await Promise.all(
      Array.from({ length: 200 }, (_, i) =>
        request(server).get(`/rooms/shaped/${encodeURIComponent(patterns[i % patterns.length]!)}`),
      ),
    );
    const reports = await capture.waitFor((r) => r.handler === 'RoomsController.shaped', 200, 10_000);
    expect(reports).toHaveLength(200);
    const byId = new Map(reports.map((r) => [r.traceId, r]));
    expect(byId.size).toBe(200);
    responses.forEach((response, i) => {
      const pattern = patterns[i % patterns.length]!;
      const { traceId, seen } = response.body as { traceId: string; seen: string[] };
      const record = byId.get(traceId);
      expect(record).toBeDefined();
      const steps = pattern.replace(/[.!~]/g, '').length;
      expect(record!.outcome).toBe('ok');
      expect(record!.spans.map((s) => `${s.depth}:${s.name}`)).toEqual([
        '0:RoomsController.shaped',
        '1:RoomService.shaped',
        ...Array.from({ length: steps }, () => '2:RoomService.step'),
      ]);
      expect(seen.every((step) => step.endsWith(traceId))).toBe(true);
      expect(record!.metrics).toBeUndefined();
    });
    expect(TraceContext.current()).toBeUndefined();
  });
});
