import 'reflect-metadata';
import { Injectable, Module } from '@nestjs/common';
import type { INestApplication } from '@nestjs/common';
import { BullModule, getQueueToken, Processor, WorkerHost } from '@nestjs/bullmq';
import { Test } from '@nestjs/testing';
import type { Job, Queue } from 'bullmq';
import { Trace, TraceContext, TraceModule } from '../../src/index.js';
import { ReportCapture, sleep, tree } from '../support/report-capture.js';

// Unique per run: other engineers use the same Redis.
const QUEUE = `nestjs-trace-queue-${process.pid}-${Date.now()}`;
const capture = new ReportCapture();

interface Match {
  id: number;
}

@Trace()
@Injectable()
class Scores {
  save(match: Match): Promise<void> {
    TraceContext.current()?.addLog(`match ${match.id}`);
    return sleep(100);
  }
}

@Processor(QUEUE, { concurrency: 50 })
class MatchResults extends WorkerHost {
  constructor(private readonly scores: Scores) {
    super();
  }

  async process(job: Job<Match>): Promise<string> {
    if (job.name === 'flaky' && job.attemptsMade === 0) throw new Error('first try fails');
    if (job.name === 'broken') throw new Error(`broken on attempt ${job.attemptsMade + 1}`);
    await this.scores.save(job.data);
    return `saved ${job.data.id}`;
  }
}

@Module({
  imports: [
    BullModule.forRoot({ connection: { host: '127.0.0.1', port: 6379 } }),
    BullModule.registerQueue({ name: QUEUE }),
    TraceModule.forRoot({ stream: capture, format: 'json', logAll: true, hungThresholdMs: 0 }),
  ],
  providers: [Scores, MatchResults],
})
class QueueApp {}

async function until(check: () => Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('timed out');
    await sleep(50);
  }
}

describe('queue transport: @Processor workers of a real BullMQ on the local Redis', () => {
  let app: INestApplication;
  let queue: Queue;

  beforeAll(async () => {
    const moduleRef = await Test.createTestingModule({ imports: [QueueApp] }).compile();
    app = moduleRef.createNestApplication({ logger: false });
    await app.init();
    queue = app.get<Queue>(getQueueToken(QUEUE));
  });

  afterAll(async () => {
    await queue.obliterate({ force: true });
    await app.close();
  });

  beforeEach(() => capture.clear());

  it('gives each of 50 concurrent jobs a trace holding exactly its own tree, and keeps their results', async () => {
    const jobs = await queue.addBulk(Array.from({ length: 50 }, (_, id) => ({ name: 'save', data: { id } })));
    const reports = await capture.waitFor((r) => r.route === `${QUEUE}:save`, 50, 15_000);
    expect(new Set(reports.map((r) => r.traceId)).size).toBe(50);
    for (const job of jobs) {
      const report = reports.find((r) => r.queue?.jobId === job.id);
      expect(report).toMatchObject({
        transport: 'queue',
        handler: 'MatchResults.process',
        outcome: 'ok',
        queue: { name: QUEUE, jobName: 'save', jobId: job.id, attempt: 1 },
      });
      expect(tree(report!)).toEqual(['MatchResults.process', '  Scores.save']);
      expect(report!.spans[1]!.logs).toEqual([`match ${job.data.id}`]);
      expect(report!.queue!.waitMs).toBeGreaterThanOrEqual(0);
    }
    await until(async () => ((await queue.getJobCounts('completed')).completed ?? 0) >= 50);
    const done = await queue.getJob(jobs[7]!.id!);
    expect(done!.returnvalue).toBe('saved 7');
  });

  it('lets a failing job fail in BullMQ, with its retries: one error report per attempt', async () => {
    const flaky = await queue.add('flaky', { id: 1 }, { attempts: 2 });
    const broken = await queue.add('broken', { id: 2 }, { attempts: 2 });
    const flakyReports = await capture.waitFor((r) => r.route === `${QUEUE}:flaky`, 2, 10_000);
    const brokenReports = await capture.waitFor((r) => r.route === `${QUEUE}:broken`, 2, 10_000);
    expect(flakyReports.map((r) => [r.outcome, r.queue?.attempt])).toEqual([
      ['error', 1],
      ['ok', 2],
    ]);
    expect(brokenReports.map((r) => [r.outcome, r.queue?.attempt, r.error?.message])).toEqual([
      ['error', 1, 'broken on attempt 1'],
      ['error', 2, 'broken on attempt 2'],
    ]);
    await until(async () => (await queue.getJob(broken.id!))?.failedReason !== undefined);
    await until(async () => (await queue.getJobState(flaky.id!)) === 'completed');
    const failed = await queue.getJob(broken.id!);
    expect(await failed!.getState()).toBe('failed');
    expect(failed!.failedReason).toBe('broken on attempt 2');
    expect(failed!.attemptsMade).toBe(2);
    expect((await queue.getJob(flaky.id!))!.returnvalue).toBe('saved 1');
  });

  it("carries the producer's trace id to the job (add and addBulk), and the job's data shows the traceparent", async () => {
    const { traceId, single, bulk } = await TraceContext.run('POST /matches', async () => ({
      traceId: TraceContext.current()?.traceId,
      single: await queue.add('save', { id: 10 }),
      bulk: await queue.addBulk([{ name: 'save', data: { id: 11 } }]),
    }));
    const reports = await capture.waitFor((r) => r.transport === 'queue', 2, 10_000);
    for (const job of [single, bulk[0]!]) {
      const report = reports.find((r) => r.queue?.jobId === job.id);
      expect(report!.traceId).toBe(traceId);
      expect(job.data).toEqual({
        id: job.data.id,
        traceparent: expect.stringMatching(new RegExp(`^00-${traceId}-[0-9a-f]{16}-00$`)) as unknown,
      });
    }
    // Outside a trace the data is sent as given.
    const plain = await queue.add('save', { id: 12 });
    expect(plain.data).toEqual({ id: 12 });
  });

  it('measures waitMs from the job created to its processing', async () => {
    const job = await queue.add('save', { id: 3 }, { delay: 300 });
    const [report] = await capture.waitFor((r) => r.queue?.jobId === job.id, 1, 10_000);
    expect(report!.queue!.waitMs).toBeGreaterThanOrEqual(250);
    expect(report!.queue!.waitMs).toBeLessThan(5000);
  });
});
