// Work started at bootstrap (a module-init setInterval) never sees a request's trace, and a @Trace
// method it calls records nothing; `TraceContext.run` there opens its own root (transport manual).
import 'reflect-metadata';
import { Controller, Get, Injectable, Module } from '@nestjs/common';
import type { INestApplication, OnModuleDestroy, OnModuleInit } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Trace, TraceContext, TraceModule } from '../../src/index.js';
import { ReportCapture, sleep } from '../support/report-capture.js';
import { keepIdleSockets } from '../support/keep-idle-sockets.js';

/** Reports reach the test through the library's output seam (`stream`), never through stdout. */
const capture = new ReportCapture();

@Trace()
@Injectable()
class Ticker implements OnModuleInit, OnModuleDestroy {
  readonly seen: (string | undefined)[] = [];
  readonly manual: string[] = [];
  private timer: NodeJS.Timeout | undefined;

  onModuleInit(): void {
    this.timer = setInterval(() => {
      this.seen.push(TraceContext.current()?.traceId);
      this.tick();
      if (this.manual.length < 3) {
        void TraceContext.run('cron-tick', async () => {
          this.manual.push(TraceContext.current()?.traceId ?? 'none');
          await sleep(1);
        });
      }
    }, 5);
  }
  onModuleDestroy(): void {
    clearInterval(this.timer);
  }
  tick(): number {
    return this.seen.length;
  }
  async work(): Promise<string | undefined> {
    await sleep(3);
    return TraceContext.current()?.traceId;
  }
}

@Controller()
class BusyController {
  constructor(private readonly ticker: Ticker) {}
  @Get('busy')
  async busy(): Promise<{ traceId: string | undefined }> {
    return { traceId: await this.ticker.work() };
  }
}

describe('outside requests', () => {
  let app: INestApplication;

  beforeAll(async () => {
    @Module({
      imports: [
        TraceModule.forRoot({
          stream: capture,
          format: 'json',
          logAll: true,
          hungThresholdMs: 0,
          otel: { enabled: false },
        }),
      ],
      controllers: [BusyController],
      providers: [Ticker],
    })
    class OutsideModule {}
    app = (await Test.createTestingModule({ imports: [OutsideModule] }).compile()).createNestApplication({
      logger: false,
    });
    await app.listen(0, '127.0.0.1');
    keepIdleSockets(app);
  });
  afterAll(async () => {
    await app.close();
  });

  it('interval callbacks see no store while requests run; their @Trace calls record nothing; run() opens its own roots', async () => {
    const url = (await app.getUrl()).replace('[::1]', '127.0.0.1');
    const ids = await Promise.all(
      Array.from({ length: 100 }, () => fetch(`${url}/busy`).then((r) => r.json() as Promise<{ traceId: string }>)),
    );
    await sleep(100);
    const ticker = app.get(Ticker);
    expect(ticker.seen.length).toBeGreaterThan(5);
    expect(ticker.seen.every((id) => id === undefined)).toBe(true);
    const requestIds = new Set(ids.map((body) => body.traceId));
    expect(requestIds.size).toBe(100);
    expect(ticker.manual).toHaveLength(3);
    for (const id of ticker.manual) {
      expect(id).toMatch(/^[0-9a-f]{32}$/);
      expect(requestIds.has(id)).toBe(false);
    }
    const requestReports = capture.reports.filter((r) => r.transport === 'http');
    expect(requestReports.length).toBeGreaterThanOrEqual(100);
    // No request's tree holds an interval's tick.
    expect(requestReports.every((r) => r.spans.every((s) => s.name !== 'Ticker.tick'))).toBe(true);
    const manual = capture.reports.filter((r) => r.transport === 'manual');
    expect(manual.map((r) => r.handler)).toEqual(['cron-tick', 'cron-tick', 'cron-tick']);
    expect(manual.every((r) => r.spans.length === 1)).toBe(true);
  });
});
