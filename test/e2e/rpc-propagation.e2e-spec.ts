import 'reflect-metadata';
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { Controller, Inject, Injectable, Module } from '@nestjs/common';
import type { DynamicModule, INestApplication, INestMicroservice } from '@nestjs/common';
import { ClientsModule, EventPattern, MessagePattern, Payload, Transport } from '@nestjs/microservices';
import type { ClientProxy } from '@nestjs/microservices';
import { Test } from '@nestjs/testing';
import { firstValueFrom } from 'rxjs';
import { Trace, TraceContext, TraceModule } from '../../src/index.js';
import { freePort } from '../support/free-port.js';
import { ReportCapture, sleep, tree } from '../support/report-capture.js';

const producerReports = new ReportCapture();
const consumerReports = new ReportCapture();
const RESULTS = 'RESULTS';

@Controller()
class ResultsController {
  readonly received: unknown[] = [];

  @MessagePattern('score')
  score(@Payload() data: { points: number }): { doubled: number; traceId: string | undefined } {
    this.received.push(data);
    return { doubled: data.points * 2, traceId: TraceContext.current()?.traceId };
  }

  @EventPattern('finished')
  finished(@Payload() data: unknown): void {
    this.received.push(data);
  }
}

@Module({
  imports: [TraceModule.forRoot({ stream: consumerReports, format: 'json', logAll: true, hungThresholdMs: 0 })],
  controllers: [ResultsController],
})
class ConsumerApp {}

@Trace()
@Injectable()
class Matches {
  constructor(@Inject(RESULTS) private readonly results: ClientProxy) {}

  report(points: number): Promise<{ doubled: number; traceId: string | undefined }> {
    return firstValueFrom(this.results.send<{ doubled: number; traceId: string | undefined }>('score', { points }));
  }

  announce(): Promise<void> {
    return firstValueFrom(this.results.emit('finished', { winner: 'red' })).then(() => undefined);
  }

  sendText(): Promise<unknown> {
    return firstValueFrom(this.results.send('score', 'not an object'));
  }
}

function producerApp(port: number): DynamicModule {
  @Module({})
  class ProducerApp {}
  return {
    module: ProducerApp,
    imports: [
      ClientsModule.register([{ name: RESULTS, transport: Transport.TCP, options: { host: '127.0.0.1', port } }]),
      TraceModule.forRoot({ stream: producerReports, format: 'json', logAll: true, hungThresholdMs: 0 }),
    ],
    providers: [Matches],
  };
}

describe('outgoing trace context: ClientProxy.send / emit between two Nest apps over TCP', () => {
  let consumer: INestMicroservice;
  let producer: INestApplication;

  beforeAll(async () => {
    const port = await freePort();
    const consumerModule = await Test.createTestingModule({ imports: [ConsumerApp] }).compile();
    consumer = consumerModule.createNestMicroservice({
      transport: Transport.TCP,
      options: { host: '127.0.0.1', port },
      logger: false,
    });
    await consumer.listen();
    const producerModule = await Test.createTestingModule({ imports: [producerApp(port)] }).compile();
    producer = producerModule.createNestApplication({ logger: false });
    await producer.init();
  });

  afterAll(async () => {
    await producer.close();
    await consumer.close();
  });

  beforeEach(() => {
    producerReports.clear();
    consumerReports.clear();
  });

  it("gives the consumer's report the producer's trace id (send)", async () => {
    const { traceId, reply } = await TraceContext.run('POST /matches', async () => ({
      traceId: TraceContext.current()?.traceId,
      reply: await producer.get(Matches).report(21),
    }));
    expect(reply.doubled).toBe(42);
    expect(reply.traceId).toBe(traceId);
    const [handled] = await consumerReports.waitFor((r) => r.handler === 'ResultsController.score');
    expect(handled).toMatchObject({ transport: 'rpc', route: 'score', traceId });
    const [sent] = await producerReports.waitFor((r) => r.handler === 'POST /matches');
    expect(tree(sent!)).toEqual(['POST /matches', '  Matches.report']);
    // What any consumer sees: the payload with a W3C traceparent field whose parent is the sending span.
    expect(app(consumer).received.at(-1)).toEqual({
      points: 21,
      traceparent: expect.stringMatching(new RegExp(`^00-${traceId}-[0-9a-f]{16}-00$`)) as unknown,
    });
  });

  it('carries it on emit too, and leaves payloads alone outside a trace or when they are not plain objects', async () => {
    const traceId = await TraceContext.run('POST /matches/end', async () => {
      await producer.get(Matches).announce();
      return TraceContext.current()?.traceId;
    });
    const [handled] = await consumerReports.waitFor((r) => r.handler === 'ResultsController.finished');
    expect(handled!.traceId).toBe(traceId);

    await producer.get(Matches).report(1);
    await sleep(50);
    expect(app(consumer).received.at(-1)).toEqual({ points: 1 });

    await TraceContext.run('POST /matches/text', () => producer.get(Matches).sendText());
    expect(app(consumer).received.at(-1)).toBe('not an object');
  });
});

function app(consumer: INestMicroservice): ResultsController {
  return consumer.get(ResultsController);
}

describe('outgoing trace context across processes: the consumer is a Nest microservice in a process of its own', () => {
  let child: ChildProcess;
  let producer: INestApplication;
  const lines: string[] = [];

  beforeAll(async () => {
    const port = await freePort();
    const fixture = fileURLToPath(new URL('./fixtures/rpc-consumer-process.mjs', import.meta.url));
    child = spawn(process.execPath, [fixture, String(port)], { stdio: ['ignore', 'pipe', 'inherit'] });
    createInterface({ input: child.stdout! }).on('line', (line) => lines.push(line));
    for (let deadline = Date.now() + 20_000; !lines.some((l) => l.includes('"ready":true')); await sleep(50)) {
      if (Date.now() > deadline || child.exitCode !== null) throw new Error(`the consumer process did not start`);
    }
    const producerModule = await Test.createTestingModule({ imports: [producerApp(port)] }).compile();
    producer = producerModule.createNestApplication({ logger: false });
    await producer.init();
  }, 30_000);

  afterAll(async () => {
    await producer?.close();
    child?.kill('SIGTERM');
  });

  it("gives the other process's report the producer's trace id", async () => {
    const { traceId, reply } = await TraceContext.run('POST /matches', async () => ({
      traceId: TraceContext.current()?.traceId,
      reply: (await producer.get(Matches).report(21)) as { doubled: number; traceId?: string; pid?: number },
    }));
    expect(reply).toMatchObject({ doubled: 42, traceId });
    expect(reply.pid).toBe(child.pid);
    let handled: { handler?: string; transport?: string; traceId?: string } | undefined;
    for (let deadline = Date.now() + 5000; handled === undefined && Date.now() < deadline; await sleep(20)) {
      handled = lines
        .filter((line) => line.startsWith('{"type":"trace"'))
        .map((line) => JSON.parse(line) as { handler?: string; transport?: string; traceId?: string })
        .find((record) => record.handler === 'ResultsController.score');
    }
    expect(handled).toMatchObject({ transport: 'rpc', traceId });
  }, 30_000);
});
