import 'reflect-metadata';
import { Injectable, Module } from '@nestjs/common';
import type { INestApplication } from '@nestjs/common';
import { BullModule, getQueueToken, Processor, WorkerHost } from '@nestjs/bullmq';
import { EventEmitter2, EventEmitterModule, OnEvent } from '@nestjs/event-emitter';
import { Test } from '@nestjs/testing';
import { context, trace, SpanKind } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import type { Queue } from 'bullmq';
import { TraceModule } from '../../src/index.js';
import { ReportCapture } from '../support/report-capture.js';

const QUEUE = `nestjs-trace-otel-${process.pid}-${Date.now()}`;
const capture = new ReportCapture();

@Injectable()
class Listeners {
  @OnEvent('room.created')
  created(): void {}
}

@Processor(QUEUE)
class Results extends WorkerHost {
  process(): Promise<string> {
    return Promise.resolve('done');
  }
}

@Module({
  imports: [
    EventEmitterModule.forRoot(),
    BullModule.forRoot({ connection: { host: '127.0.0.1', port: 6379 } }),
    BullModule.registerQueue({ name: QUEUE }),
    TraceModule.forRoot({ stream: capture, format: 'json', logAll: true, hungThresholdMs: 0 }),
  ],
  providers: [Listeners, Results],
})
class BackgroundApp {}

describe('OpenTelemetry roots of background work (real SDK)', () => {
  const memory = new InMemorySpanExporter();
  let provider: BasicTracerProvider;
  let app: INestApplication;

  beforeAll(async () => {
    provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(memory)] });
    context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
    trace.setGlobalTracerProvider(provider);
    app = (await Test.createTestingModule({ imports: [BackgroundApp] }).compile()).createNestApplication({
      logger: false,
    });
    await app.init();
  });

  afterAll(async () => {
    await app.get<Queue>(getQueueToken(QUEUE)).obliterate({ force: true });
    await app.close();
    await provider.shutdown();
    trace.disable();
    context.disable();
  });

  async function rootOf(traceId: string): Promise<ReadableSpan> {
    for (let i = 0; i < 100; i++) {
      const root = memory.getFinishedSpans().find((s) => s.spanContext().traceId === traceId && !s.parentSpanContext);
      if (root) return root;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    throw new Error(`no root span of ${traceId}`);
  }

  it('exports an event listener as an INTERNAL root with the event name', async () => {
    app.get(EventEmitter2).emit('room.created');
    const [report] = await capture.waitFor((r) => r.transport === 'event');
    const root = await rootOf(report!.traceId);
    expect(root.kind).toBe(SpanKind.INTERNAL);
    expect(root.attributes).toMatchObject({ 'code.function': 'created', 'nestjs.event.name': 'room.created' });
  });

  it('exports a BullMQ job as a CONSUMER root with the messaging attributes', async () => {
    const job = await app.get<Queue>(getQueueToken(QUEUE)).add('settle', { id: 1 });
    const [report] = await capture.waitFor((r) => r.transport === 'queue', 1, 10_000);
    const root = await rootOf(report!.traceId);
    expect(root.kind).toBe(SpanKind.CONSUMER);
    expect(root.attributes).toMatchObject({
      'messaging.system': 'bullmq',
      'messaging.operation.type': 'process',
      'messaging.destination.name': QUEUE,
      'messaging.message.id': job.id,
      'messaging.operation.name': 'settle',
    });
  });
});
