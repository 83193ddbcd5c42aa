import 'reflect-metadata';
import { Controller, Injectable, Module } from '@nestjs/common';
import type { INestApplication, LoggerService } from '@nestjs/common';
import { Cron, Interval, ScheduleModule, Timeout } from '@nestjs/schedule';
import { Test } from '@nestjs/testing';
import { Trace, TraceContext, TraceModule } from '../../src/index.js';
import { ReportCapture, sleep, tree } from '../support/report-capture.js';

const capture = new ReportCapture();

class JobFailed extends Error {}

@Trace()
@Injectable()
class World {
  step(tick: number): Promise<void> {
    TraceContext.current()?.addLog(`tick ${tick}`);
    return sleep(180);
  }
}

@Injectable()
class Ticker {
  ticks = 0;
  /** Trace id each tick saw, by tick number. */
  readonly seen = new Map<number, string | undefined>();
  failure: JobFailed | undefined;
  constructor(private readonly world: World) {}

  // 80 ms period, 180+ ms of work: ticks overlap, and each one overruns its period.
  @Interval('game-tick', 80)
  async tick(): Promise<void> {
    const tick = ++this.ticks;
    if (tick > 2) return;
    this.seen.set(tick, TraceContext.current()?.traceId);
    await this.world.step(tick);
  }

  @Timeout(30)
  warmUp(): number {
    return 42;
  }

  @Cron('* * * * * *')
  everySecond(): void {}

  @Cron('* * * * * *', { name: 'broken-cleanup' })
  broken(): void {
    this.failure = new JobFailed('cleanup failed');
    throw this.failure;
  }
}

// ScheduleModule schedules the jobs of controllers too.
@Controller()
class MaintenanceController {
  @Timeout('controller-job', 20)
  purge(): string {
    return 'purged';
  }
}

class ErrorLog implements LoggerService {
  readonly errors: unknown[] = [];
  log(): void {}
  warn(): void {}
  error(message: unknown): void {
    this.errors.push(message);
  }
}

@Module({
  imports: [
    ScheduleModule.forRoot(),
    TraceModule.forRoot({ stream: capture, format: 'json', logAll: true, hungThresholdMs: 0, slowThresholdMs: 10_000 }),
  ],
  controllers: [MaintenanceController],
  providers: [World, Ticker],
})
class SchedulerApp {}

describe('cron transport: @Cron, @Interval, @Timeout of a real ScheduleModule', () => {
  let app: INestApplication;
  const logger = new ErrorLog();

  beforeAll(async () => {
    const moduleRef = await Test.createTestingModule({ imports: [SchedulerApp] }).compile();
    app = moduleRef.createNestApplication({ logger });
    await app.init();
  });

  afterAll(async () => {
    await app.close();
  });

  it('gives two overlapping @Interval ticks each a trace of its own, slow with overrunMs', async () => {
    const reports = await capture.waitFor((r) => r.handler === 'Ticker.tick' && r.spans.length > 1, 2, 3000);
    const ticker = app.get(Ticker);
    const ids = [ticker.seen.get(1), ticker.seen.get(2)];
    expect(new Set(ids).size).toBe(2);
    for (const [index, traceId] of ids.entries()) {
      const report = reports.find((r) => r.traceId === traceId);
      expect(report).toMatchObject({ transport: 'cron', route: 'game-tick', outcome: 'slow' });
      expect(tree(report!)).toEqual(['Ticker.tick', '  World.step']);
      expect(report!.spans[1]!.logs).toEqual([`tick ${index + 1}`]);
      // 180 ms of work in an 80 ms period, although far below slowThresholdMs.
      expect(report!.overrunMs).toBeGreaterThan(50);
      expect(report!.durationMs).toBeLessThan(10_000);
    }
  });

  it('reports a tick on time as ok, without overrunMs', async () => {
    const [quick] = await capture.waitFor((r) => r.handler === 'Ticker.tick' && r.spans.length === 1);
    expect(quick).toMatchObject({ transport: 'cron', route: 'game-tick', outcome: 'ok' });
    expect(quick!.overrunMs).toBeUndefined();
  });

  it('names unnamed jobs after their schedule: `after N ms`, the cron expression', async () => {
    const [warmUp] = await capture.waitFor((r) => r.handler === 'Ticker.warmUp');
    expect(warmUp).toMatchObject({ transport: 'cron', route: 'after 30 ms', outcome: 'ok' });
    const [controllerJob] = await capture.waitFor((r) => r.handler === 'MaintenanceController.purge');
    expect(controllerJob).toMatchObject({ transport: 'cron', route: 'controller-job', outcome: 'ok' });
    const [cron] = await capture.waitFor((r) => r.handler === 'Ticker.everySecond', 1, 3000);
    expect(cron).toMatchObject({ transport: 'cron', route: '* * * * * *', outcome: 'ok' });
  });

  it('reports a failing job as an error, and the scheduler logs the very same error', async () => {
    const [failed] = await capture.waitFor((r) => r.handler === 'Ticker.broken', 1, 3000);
    expect(failed).toMatchObject({ transport: 'cron', route: 'broken-cleanup', outcome: 'error' });
    expect(failed!.error).toMatchObject({ name: 'JobFailed', message: 'cleanup failed' });
    const ticker = app.get(Ticker);
    expect(logger.errors).toContain(ticker.failure);
  });

  it('keeps a sync job sync, and opens a root of its own when called inside another trace', async () => {
    const ticker = app.get(Ticker);
    capture.clear();
    const outer = TraceContext.run('outer', () => ({ id: TraceContext.current()?.traceId, value: ticker.warmUp() }));
    expect(outer.value).toBe(42);
    const [job] = await capture.waitFor((r) => r.handler === 'Ticker.warmUp');
    const [manual] = await capture.waitFor((r) => r.handler === 'outer');
    expect(manual!.traceId).toBe(outer.id);
    expect(job!.traceId).not.toBe(outer.id);
    expect(tree(manual!)).toEqual(['outer']);
  });
});
