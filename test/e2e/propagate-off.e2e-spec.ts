import 'reflect-metadata';
import { Controller, Inject, Injectable, Module, UsePipes } from '@nestjs/common';
import type { DynamicModule, INestApplication, INestMicroservice, PipeTransform } from '@nestjs/common';
import { BullModule, getQueueToken, Processor, WorkerHost } from '@nestjs/bullmq';
import { ClientsModule, MessagePattern, Payload, RpcException, Transport } from '@nestjs/microservices';
import type { ClientProxy } from '@nestjs/microservices';
import { Test } from '@nestjs/testing';
import type { Job, Queue } from 'bullmq';
import { firstValueFrom } from 'rxjs';
import { Trace, TraceContext, TraceModule } from '../../src/index.js';
import { freePort } from '../support/free-port.js';
import { ReportCapture } from '../support/report-capture.js';

/**
 * What `ValidationPipe({ whitelist: true, forbidNonWhitelisted: true })` does with a DTO of `points` only (class-validator
 * is not a dependency of this repository): any other field is refused.
 */
class OnlyPoints implements PipeTransform {
  transform(value: unknown): unknown {
    const extra = Object.keys(value as object).filter((key) => key !== 'points');
    if (extra.length > 0) throw new RpcException(`property ${extra.join(', ')} should not exist`);
    return value;
  }
}

const RESULTS = 'RESULTS';

@Controller()
class StrictResults {
  readonly received: unknown[] = [];

  @MessagePattern('score')
  @UsePipes(new OnlyPoints())
  score(@Payload() data: { points: number }): { doubled: number; traceId: string | undefined } {
    this.received.push(data);
    return { doubled: data.points * 2, traceId: TraceContext.current()?.traceId };
  }
}

@Trace()
@Injectable()
class Matches {
  constructor(@Inject(RESULTS) private readonly results: ClientProxy) {}

  report(points: number): Promise<{ doubled: number; traceId: string | undefined }> {
    return firstValueFrom(this.results.send<{ doubled: number; traceId: string | undefined }>('score', { points }));
  }
}

function producerApp(port: number, propagate: boolean | undefined, reports: ReportCapture): DynamicModule {
  @Module({})
  class ProducerApp {}
  return {
    module: ProducerApp,
    imports: [
      ClientsModule.register([{ name: RESULTS, transport: Transport.TCP, options: { host: '127.0.0.1', port } }]),
      TraceModule.forRoot({
        stream: reports,
        format: 'json',
        logAll: true,
        hungThresholdMs: 0,
        ...(propagate === undefined ? {} : { propagate }),
      }),
    ],
    providers: [Matches],
  };
}

describe('propagate: false — a strict RPC consumer (unknown fields refused) between two Nest apps over TCP', () => {
  const consumerReports = new ReportCapture();
  let consumer: INestMicroservice;
  let port: number;
  const producers: INestApplication[] = [];

  async function producer(propagate: boolean | undefined): Promise<INestApplication> {
    const moduleRef = await Test.createTestingModule({
      imports: [producerApp(port, propagate, new ReportCapture())],
    }).compile();
    const app = moduleRef.createNestApplication({ logger: false });
    await app.init();
    producers.push(app);
    return app;
  }

  beforeAll(async () => {
    port = await freePort();
    @Module({
      imports: [TraceModule.forRoot({ stream: consumerReports, format: 'json', logAll: true, hungThresholdMs: 0 })],
      controllers: [StrictResults],
    })
    class ConsumerApp {}
    const consumerModule = await Test.createTestingModule({ imports: [ConsumerApp] }).compile();
    consumer = consumerModule.createNestMicroservice({
      transport: Transport.TCP,
      options: { host: '127.0.0.1', port },
      logger: false,
    });
    await consumer.listen();
  });

  afterAll(async () => {
    for (const app of producers) await app.close();
    await consumer.close();
  });

  it('by default the traceparent field makes the strict consumer refuse the message (why the option exists)', async () => {
    const app = await producer(undefined);
    const sent = TraceContext.run('POST /matches', () => app.get(Matches).report(21));
    await expect(sent).rejects.toMatchObject({ message: 'property traceparent should not exist' });
  });

  it('with propagate: false the payload arrives as the app built it, and the consumer opens a trace of its own', async () => {
    consumerReports.clear();
    const app = await producer(false);
    const { traceId, reply } = await TraceContext.run('POST /matches', async () => ({
      traceId: TraceContext.current()?.traceId,
      reply: await app.get(Matches).report(21),
    }));
    expect(reply.doubled).toBe(42);
    expect(consumer.get(StrictResults).received.at(-1)).toEqual({ points: 21 });
    const [handled] = await consumerReports.waitFor((r) => r.handler === 'StrictResults.score');
    expect(handled!.traceId).toMatch(/^[0-9a-f]{32}$/);
    expect(traceId).toMatch(/^[0-9a-f]{32}$/);
    expect(handled!.traceId).not.toBe(traceId);
    expect(reply.traceId).toBe(handled!.traceId);
  });
});

// Unique per run: other engineers use the same Redis.
const QUEUE = `example-leftovers-propagate-${process.pid}-${Date.now()}`;
const queueReports = new ReportCapture();

@Processor(QUEUE)
class StrictJobs extends WorkerHost {
  readonly data: unknown[] = [];

  process(job: Job<{ id: number }>): Promise<string> {
    this.data.push(job.data);
    return Promise.resolve(`saved ${job.data.id}`);
  }
}

@Module({
  imports: [
    BullModule.forRoot({ connection: { host: '127.0.0.1', port: 6379 } }),
    BullModule.registerQueue({ name: QUEUE }),
    TraceModule.forRoot({ stream: queueReports, format: 'json', logAll: true, hungThresholdMs: 0, propagate: false }),
  ],
  providers: [StrictJobs],
})
class QueueApp {}

describe('propagate: false — a real BullMQ queue on the local Redis', () => {
  let app: INestApplication;
  let queue: Queue;

  beforeAll(async () => {
    app = (await Test.createTestingModule({ imports: [QueueApp] }).compile()).createNestApplication({ logger: false });
    await app.init();
    queue = app.get<Queue>(getQueueToken(QUEUE));
  });

  afterAll(async () => {
    await queue.obliterate({ force: true });
    await app.close();
  });

  it('adds jobs (add and addBulk) with their data unchanged; each job is a trace of its own', async () => {
    const { traceId, single, bulk } = await TraceContext.run('POST /matches', async () => ({
      traceId: TraceContext.current()?.traceId,
      single: await queue.add('save', { id: 1 }),
      bulk: await queue.addBulk([{ name: 'save', data: { id: 2 } }]),
    }));
    expect(single.data).toEqual({ id: 1 });
    expect(bulk[0]!.data).toEqual({ id: 2 });
    const reports = await queueReports.waitFor((r) => r.transport === 'queue', 2, 10_000);
    expect(reports.map((r) => r.queue?.jobId).sort()).toEqual([single.id, bulk[0]!.id].sort());
    for (const report of reports) expect(report.traceId).not.toBe(traceId);
    expect(app.get(StrictJobs).data).toEqual(expect.arrayContaining([{ id: 1 }, { id: 2 }]));
    expect(app.get(StrictJobs).data).toHaveLength(2);
  });
});
