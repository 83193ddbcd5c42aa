import 'reflect-metadata';
import http from 'node:http';
import { Module } from '@nestjs/common';
import type { INestApplication } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { context, trace, SpanKind } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { HttpInstrumentation } from '@opentelemetry/instrumentation-http';
import { registerInstrumentations } from '@opentelemetry/instrumentation';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import request from 'supertest';
import { TraceModule } from '../../src/index.js';
import { ReportCapture } from '../support/report-capture.js';
import { RoomService, RoomsController, RolesGuard } from './fixtures/rooms.fixture.js';

/** Reports reach the test through the library's output seam (`stream`), never through stdout. */
const capture = new ReportCapture();

@Module({
  imports: [TraceModule.forRoot({ stream: capture, slowThresholdMs: 100, format: 'json', hungThresholdMs: 0 })],
  controllers: [RoomsController],
  providers: [RoomService, RolesGuard],
})
class OtelHttpAppModule {}

describe('with @opentelemetry/instrumentation-http active', () => {
  const memory = new InMemorySpanExporter();
  const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(memory)] });
  let unregister: () => void;
  let unpatch: (() => void) | undefined;
  let app: INestApplication;

  beforeAll(async () => {
    context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
    trace.setGlobalTracerProvider(provider);
    const instrumentation = new HttpInstrumentation();
    unregister = registerInstrumentations({ instrumentations: [instrumentation] });
    // Jest's module system bypasses the require hook the instrumentation installs, so apply its own `http` patch
    // to the real module the way the hook would on `require('http')`.
    const definition = instrumentation.getModuleDefinitions().find((d) => d.name === 'http');
    definition?.patch?.(http, process.versions.node);
    unpatch = () => definition?.unpatch?.(http, process.versions.node);
    app = (await Test.createTestingModule({ imports: [OtelHttpAppModule] }).compile()).createNestApplication({
      logger: false,
    });
    await app.init();
  });
  afterAll(async () => {
    await app.close();
    unregister();
    unpatch?.();
    await provider.shutdown();
    trace.disable();
    context.disable();
  });

  it("the report's trace id is the HTTP server span's trace id, and the handler span is its child", async () => {
    const response = await request(app.getHttpServer()).get('/rooms/3/slow?ms=110').expect(200);
    const [record] = await capture.waitFor((r) => r.outcome === 'slow');
    expect(record!.traceId).toBe(response.body.traceId);
    let spans = memory.getFinishedSpans().filter((s) => s.spanContext().traceId === record!.traceId);
    for (let i = 0; i < 50 && spans.length < 5; i++) {
      await new Promise((resolve) => setTimeout(resolve, 20));
      spans = memory.getFinishedSpans().filter((s) => s.spanContext().traceId === record!.traceId);
    }
    const server = spans.find(
      (s) => s.kind === SpanKind.SERVER && s.instrumentationScope.name.includes('instrumentation-http'),
    );
    expect(server).toBeDefined();
    const handler = spans.find(
      (s) => s.name === 'GET /rooms/:id/slow' && s.instrumentationScope.name === 'nestjs-trace',
    );
    expect(handler?.parentSpanContext?.spanId).toBe(server!.spanContext().spanId);
  });
});
