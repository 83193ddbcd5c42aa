import 'reflect-metadata';
import { createServer } from 'node:http';
import type { Server } from 'node:http';
import { gunzipSync } from 'node:zlib';
import { Module } from '@nestjs/common';
import type { INestApplication } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { context, trace, SpanKind, SpanStatusCode } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
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
class OtelAppModule {}

const hex = (value: unknown): string =>
  typeof value === 'string' ? value : Buffer.from(value as Uint8Array).toString('hex');

describe('OpenTelemetry bridge (real SDK)', () => {
  const memory = new InMemorySpanExporter();
  const received: { body: unknown }[] = [];
  let receiver: Server;
  let otlp: OTLPTraceExporter;
  let provider: BasicTracerProvider;
  let app: INestApplication;

  beforeAll(async () => {
    receiver = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => {
        let raw = Buffer.concat(chunks);
        if (req.headers['content-encoding'] === 'gzip') raw = gunzipSync(raw);
        received.push({ body: JSON.parse(raw.toString('utf8')) });
        res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
      });
    });
    await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
    const address = receiver.address();
    const port = typeof address === 'object' && address ? address.port : 0;
    otlp = new OTLPTraceExporter({ url: `http://127.0.0.1:${port}/v1/traces`, headers: {} });
    provider = new BasicTracerProvider({
      spanProcessors: [new SimpleSpanProcessor(memory), new SimpleSpanProcessor(otlp)],
    });
    context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
    trace.setGlobalTracerProvider(provider);
    app = (await Test.createTestingModule({ imports: [OtelAppModule] }).compile()).createNestApplication({
      logger: false,
    });
    await app.init();
  });

  afterAll(async () => {
    await app.close();
    await provider.shutdown();
    trace.disable();
    context.disable();
    await new Promise((resolve) => receiver.close(resolve));
  });

  async function spansOf(traceId: string, count: number): Promise<ReadableSpan[]> {
    for (let i = 0; i < 100; i++) {
      const spans = memory.getFinishedSpans().filter((s) => s.spanContext().traceId === traceId);
      if (spans.length >= count) return spans;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    throw new Error(`expected ${count} spans of ${traceId}`);
  }

  it('exports the same tree, kinds, names and timings as the report, with the same trace id', async () => {
    const response = await request(app.getHttpServer()).get('/rooms/9/slow?ms=120').expect(200);
    const [record] = await capture.waitFor((r) => r.outcome === 'slow');
    expect(record!.traceId).toBe(response.body.traceId);
    const spans = await spansOf(record!.traceId, record!.spans.length);
    const byName = new Map(spans.map((s) => [s.name, s]));
    const root = byName.get('GET /rooms/:id/slow')!;
    expect(root.kind).toBe(SpanKind.SERVER);
    expect(root.attributes).toMatchObject({
      'http.request.method': 'GET',
      'http.route': '/rooms/:id/slow',
      'code.namespace': 'RoomsController',
    });
    const slow = byName.get('RoomService.slow')!;
    const validate = byName.get('RoomService.validate')!;
    const save = byName.get('RoomService.save')!;
    expect(slow.kind).toBe(SpanKind.INTERNAL);
    expect(slow.attributes).toMatchObject({ 'code.function': 'slow', 'code.namespace': 'RoomService' });
    expect(slow.parentSpanContext?.spanId).toBe(root.spanContext().spanId);
    expect(validate.parentSpanContext?.spanId).toBe(slow.spanContext().spanId);
    expect(save.parentSpanContext?.spanId).toBe(slow.spanContext().spanId);
    const ms = (s: ReadableSpan) => s.duration[0] * 1000 + s.duration[1] / 1e6;
    expect(Math.abs(ms(root) - record!.durationMs)).toBeLessThan(1);
    expect(Math.abs(ms(slow) - record!.spans[1]!.durationMs)).toBeLessThan(1);
  });

  it('marks errors with status ERROR and a recorded exception', async () => {
    await request(app.getHttpServer()).get('/rooms/1/fail').expect(500);
    const [record] = await capture.waitFor((r) => r.outcome === 'error');
    const spans = await spansOf(record!.traceId, 2);
    const failing = spans.find((s) => s.name === 'RoomService.fail')!;
    expect(failing.status).toMatchObject({ code: SpanStatusCode.ERROR, message: 'Room is full' });
    expect(failing.events.some((e) => e.name === 'exception')).toBe(true);
    expect(spans.find((s) => s.name === 'GET /rooms/:id/fail')!.status.code).toBe(SpanStatusCode.ERROR);
  });

  it('continues an incoming traceparent: the OTel spans and the report share its trace id', async () => {
    const traceId = '4bf92f3577b34da6a3ce929d0e0e4736';
    await request(app.getHttpServer())
      .get('/rooms/1/slow?ms=110')
      .set('traceparent', `00-${traceId}-00f067aa0ba902b7-01`)
      .expect(200);
    const [record] = await capture.waitFor((r) => r.traceId === traceId);
    const spans = await spansOf(traceId, record!.spans.length);
    const root = spans.find((s) => s.name === 'GET /rooms/:id/slow')!;
    expect(root.parentSpanContext?.spanId).toBe('00f067aa0ba902b7');
  });

  it('the OTLP/HTTP exporter delivers the spans to a collector endpoint', async () => {
    const response = await request(app.getHttpServer()).get('/rooms/5/slow?ms=110').expect(200);
    const traceId = response.body.traceId as string;
    await otlp.forceFlush();
    let names: string[] = [];
    for (let i = 0; i < 100 && names.length < 4; i++) {
      names = received.flatMap(({ body }) =>
        (
          body as { resourceSpans: { scopeSpans: { spans: { traceId: unknown; name: string }[] }[] }[] }
        ).resourceSpans.flatMap((rs) =>
          rs.scopeSpans.flatMap((ss) => ss.spans.filter((s) => hex(s.traceId) === traceId).map((s) => s.name)),
        ),
      );
      if (names.length < 4) await new Promise((resolve) => setTimeout(resolve, 50));
    }
    expect(names.sort()).toEqual([
      'GET /rooms/:id/slow',
      'RoomService.save',
      'RoomService.slow',
      'RoomService.validate',
    ]);
  });
});
