import 'reflect-metadata';
import { Injectable, Module } from '@nestjs/common';
import type { INestApplication } from '@nestjs/common';
import { BullModule, getQueueToken, Processor, WorkerHost } from '@nestjs/bullmq';
import { EventEmitter2, EventEmitterModule, OnEvent } from '@nestjs/event-emitter';
import { Interval, ScheduleModule } from '@nestjs/schedule';
import { Test } from '@nestjs/testing';
import type { Job, Queue } from 'bullmq';
import { Trace, TraceContext, TraceModule } from 'nestjs-trace';
import { ReportCapture, sleep, tree } from '../support/report-capture';

// Background work on Nest 11 (@nestjs/schedule 6, @nestjs/event-emitter 3, @nestjs/bullmq 11), CommonJS build.
const QUEUE = `nestjs-trace-nest11-${process.pid}-${Date.now()}`;
const capture = new ReportCapture();

@Trace()
@Injectable()
class Game {
  work(label: string, ms: number): Promise<void> {
    TraceContext.current()?.addLog(label);
    return sleep(ms);
  }
}

@Injectable()
class Loop {
  ticks = 0;
  constructor(private readonly game: Game) {}

  @Interval('tick', 60)
  async tick(): Promise<void> {
    const tick = ++this.ticks;
    if (tick <= 2) await this.game.work(`tick ${tick}`, 150);
  }

  @OnEvent('room.created')
  async created(room: { id: number }): Promise<void> {
    await this.game.work(`room ${room.id}`, 10);
  }
}

@Processor(QUEUE, { concurrency: 50 })
class Results extends WorkerHost {
  constructor(private readonly game: Game) {
    super();
  }

  async process(job: Job<{ id: number }>): Promise<number> {
    if (job.name === 'broken') throw new Error(`attempt ${job.attemptsMade + 1}`);
    await this.game.work(`job ${job.data.id}`, 50);
    return job.data.id;
  }
}

@Module({
  imports: [
    ScheduleModule.forRoot(),
    EventEmitterModule.forRoot(),
    BullModule.forRoot({ connection: { host: '127.0.0.1', port: 6379 } }),
    BullModule.registerQueue({ name: QUEUE }),
    TraceModule.forRoot({ stream: capture, format: 'json', logAll: true, hungThresholdMs: 0, slowThresholdMs: 10_000 }),
  ],
  providers: [Game, Loop, Results],
})
class BackgroundApp {}

describe('background work on Nest 11: @Interval, @OnEvent, BullMQ @Processor', () => {
  let app: INestApplication;
  let queue: Queue;

  beforeAll(async () => {
    app = (await Test.createTestingModule({ imports: [BackgroundApp] }).compile()).createNestApplication({
      logger: false,
    });
    await app.init();
    queue = app.get<Queue>(getQueueToken(QUEUE));
  });

  afterAll(async () => {
    await queue.obliterate({ force: true });
    await app.close();
  });

  it('gives two overlapping ticks each its own trace, slow with overrunMs', async () => {
    const ticks = await capture.waitFor((r) => r.handler === 'Loop.tick' && r.spans.length > 1, 2, 3000);
    expect(new Set(ticks.map((r) => r.traceId)).size).toBe(2);
    expect(ticks.map((r) => r.spans[1]?.logs?.[0]).sort()).toEqual(['tick 1', 'tick 2']);
    for (const tick of ticks) {
      expect(tick).toMatchObject({ transport: 'cron', route: 'tick', outcome: 'slow' });
      expect(tree(tick)).toEqual(['Loop.tick', '  Game.work']);
      expect(tick.overrunMs).toBeGreaterThan(40);
    }
  });

  it('traces an event listener', async () => {
    await app.get(EventEmitter2).emitAsync('room.created', { id: 3 });
    const [report] = await capture.waitFor((r) => r.transport === 'event');
    expect(report).toMatchObject({ handler: 'Loop.created', route: 'room.created', outcome: 'ok' });
    expect(report!.spans[1]!.logs).toEqual(['room 3']);
  });

  it('gives 50 concurrent jobs each its own tree, and the producer trace id when added inside a trace', async () => {
    const traceId = await TraceContext.run('POST /results', async () => {
      await queue.addBulk(Array.from({ length: 50 }, (_, id) => ({ name: 'save', data: { id } })));
      return TraceContext.current()?.traceId;
    });
    const jobs = await capture.waitFor((r) => r.transport === 'queue' && r.queue?.jobName === 'save', 50, 15_000);
    expect(jobs.map((r) => r.spans[1]?.logs?.[0]).sort()).toEqual(
      Array.from({ length: 50 }, (_, id) => `job ${id}`).sort(),
    );
    for (const job of jobs) {
      expect(job).toMatchObject({ route: `${QUEUE}:save`, traceId, queue: { name: QUEUE, attempt: 1 } });
      expect(tree(job)).toEqual(['Results.process', '  Game.work']);
    }
  });

  it('lets a failing job fail in BullMQ with its retries', async () => {
    const job = await queue.add('broken', { id: 0 }, { attempts: 2 });
    const reports = await capture.waitFor((r) => r.queue?.jobName === 'broken', 2, 10_000);
    expect(reports.map((r) => [r.outcome, r.queue?.attempt, r.error?.message])).toEqual([
      ['error', 1, 'attempt 1'],
      ['error', 2, 'attempt 2'],
    ]);
    for (let i = 0; i < 100 && (await queue.getJobState(job.id!)) !== 'failed'; i++) await sleep(50);
    expect(await queue.getJobState(job.id!)).toBe('failed');
  });
});
