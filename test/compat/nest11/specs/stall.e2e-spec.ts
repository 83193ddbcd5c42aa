import 'reflect-metadata';
import { Controller, Get, Module } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import request from 'supertest';
import { TraceModule } from 'nestjs-trace';
import type { BlockedRecord, ReportRecord } from 'nestjs-trace';

function spinFor(ms: number): number {
  const end = Date.now() + ms;
  let n = 0;
  while (Date.now() < end) n++;
  return n;
}

@Controller('stall')
class StallController {
  @Get()
  block(): { n: number } {
    return { n: spinFor(500) };
  }
}

describe('Nest 11: the blocked-loop watchdog', () => {
  it('starts with the app, reports a blocked handler with its stack and trace, and stops with app.close()', async () => {
    const seen: ReportRecord[] = [];
    @Module({
      imports: [
        TraceModule.forRoot({
          format: 'json',
          stream: { write: () => true },
          blockedThresholdMs: 150,
          onReport: (record) => seen.push(record),
        }),
      ],
      controllers: [StallController],
    })
    class StallAppModule {}
    const app = (await Test.createTestingModule({ imports: [StallAppModule] }).compile()).createNestApplication({
      logger: false,
    });
    await app.init();
    try {
      await new Promise((resolve) => setTimeout(resolve, 200));
      await request(app.getHttpServer()).get('/stall').expect(200);
      const deadline = Date.now() + 5000;
      const ours = (): BlockedRecord[] =>
        seen.filter((r): r is BlockedRecord => r.type === 'blocked' && r.trace?.handler === 'StallController.block');
      while (ours().length === 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
      const [record] = ours();
      expect(record?.stack.slice(0, 3).map((frame) => frame.function)).toContain('spinFor');
      expect(record?.trace?.route).toBe('GET /stall');
    } finally {
      await app.close();
    }
  });
});
