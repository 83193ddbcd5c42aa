import 'reflect-metadata';
import { context, ROOT_CONTEXT, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { ActiveTrace } from '../../../src/context/active-trace.js';
import type { TraceSink } from '../../../src/context/active-trace.js';
import { OtelBridge } from '../../../src/otel/otel-bridge.js';
import { resolveOptions } from '../../../src/resolve-options.js';
import { PrometheusMetrics } from '../../../src/prometheus/prometheus-metrics.js';
import { FailureLog } from '../../../src/report/failure-log.js';

// The real API and SDK: with the API installed but no provider registered the bridge starts no span per trace,
// and it notices a provider registered later (checked at most once a second).
describe('OtelBridge without a registered SDK', () => {
  const options = resolveOptions({});
  const failures = new FailureLog(options);
  const sink: TraceSink = { maxSpans: 100, opened: () => undefined, finished: () => undefined };

  afterAll(() => trace.disable());

  it('starts no span (so no trace id of its own) until a provider is registered, then starts one per trace', async () => {
    const bridge = new OtelBridge(options, failures, new PrometheusMetrics(options));
    await bridge.onModuleInit();
    expect(bridge.active).toBe(true);
    const first = new ActiveTrace({ transport: 'manual', handlerName: 'a' }, sink);
    bridge.opened(first);
    expect(bridge.liveRoot(first)).toBeUndefined();

    const exporter = new InMemorySpanExporter();
    trace.setGlobalTracerProvider(new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] }));
    // Within a second of the last check the bridge has not looked again ...
    const soon = new ActiveTrace({ transport: 'manual', handlerName: 'b' }, sink);
    bridge.opened(soon);
    expect(bridge.liveRoot(soon)).toBeUndefined();
    // ... a second later it sees the provider, and from then on every trace gets its live root span.
    await new Promise((resolve) => setTimeout(resolve, 1010));
    const later = new ActiveTrace({ transport: 'manual', handlerName: 'c' }, sink);
    bridge.opened(later);
    expect(bridge.liveRoot(later)).toBeDefined();
    expect(later.traceId).toBe(bridge.liveRoot(later)!.spanContext().traceId);
    const next = new ActiveTrace({ transport: 'manual', handlerName: 'd' }, sink);
    bridge.opened(next);
    expect(bridge.liveRoot(next)).toBeDefined();
  });
});

describe('OtelBridge: PostgreSQL statements', () => {
  afterAll(() => trace.disable());

  it('exports a postgresql span with db.system "postgresql", the normalized statement and its rows', async () => {
    const exporter = new InMemorySpanExporter();
    trace.setGlobalTracerProvider(new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] }));
    const options = resolveOptions({});
    const bridge = new OtelBridge(options, new FailureLog(options), new PrometheusMetrics(options));
    await bridge.onModuleInit();
    const sink: TraceSink = {
      maxSpans: 100,
      opened: (context) => bridge.opened(context),
      finished: (context) => bridge.finished(context, 'ok'),
    };
    const context = new ActiveTrace({ transport: 'manual', handlerName: 'job' }, sink);
    const span = context.openSpan('postgresql', 0);
    context.setDb(span, {
      system: 'postgresql',
      statement: `SELECT "p"."id" FROM "p" WHERE "p"."name" = 'alice'`,
      rows: 1,
    });
    context.endSpan(span, false);
    context.endSpan(0, false);
    await new Promise((resolve) => setImmediate(resolve)); // the bridge exports after the response, a tick later
    const exported = exporter.getFinishedSpans().find((candidate) => candidate.name === 'postgresql SELECT');
    expect(exported?.attributes).toMatchObject({
      'db.system': 'postgresql',
      'db.query.text': 'SELECT "p"."id" FROM "p" WHERE "p"."name" = ?',
      'db.response.returned_rows': 1,
    });
  });
});

describe('OtelBridge export decision (otel.okSampleRate: 0)', () => {
  const options = resolveOptions({ otel: { okSampleRate: 0 }, slowThresholdMs: 1000 });
  const sink: TraceSink = { maxSpans: 100, opened: () => undefined, finished: () => undefined };
  const exporter = new InMemorySpanExporter();

  beforeAll(() => {
    context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
    trace.setGlobalTracerProvider(new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] }));
  });
  afterAll(() => {
    trace.disable();
    context.disable();
  });

  async function exported(open: () => ActiveTrace, bridge: OtelBridge): Promise<string[]> {
    exporter.reset();
    const active = open();
    bridge.opened(active);
    active.endSpan(0, false);
    bridge.finished(active, 'ok');
    await new Promise((resolve) => setTimeout(resolve, 20));
    return exporter.getFinishedSpans().map((span) => span.spanContext().traceId);
  }

  it('drops ok traces, but keeps one whose remote OpenTelemetry parent is sampled', async () => {
    const bridge = new OtelBridge(options, new FailureLog(options), new PrometheusMetrics(options));
    await bridge.onModuleInit();
    const plain = await exported(() => new ActiveTrace({ transport: 'manual', handlerName: 'a' }, sink), bridge);
    expect(plain).toEqual([]);
    // The parent's context is active while the trace opens (as with OpenTelemetry's propagator in front).
    const bridgeOpened = (flags: number): Promise<string[]> =>
      context.with(
        trace.setSpanContext(ROOT_CONTEXT, {
          traceId: '0af7651916cd43dd8448eb211c80319c',
          spanId: 'b7ad6b7169203331',
          traceFlags: flags,
          isRemote: true,
        }),
        () => exported(() => new ActiveTrace({ transport: 'manual', handlerName: 'b' }, sink), bridge),
      );
    expect(await bridgeOpened(1)).toEqual(['0af7651916cd43dd8448eb211c80319c']);
    expect(await bridgeOpened(0)).toEqual([]);
  });
});
