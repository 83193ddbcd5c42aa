import { context, trace } from '@opentelemetry/api';
import type { Tracer } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { BasicTracerProvider, BatchSpanProcessor, InMemorySpanExporter } from '@opentelemetry/sdk-trace-base';

export interface OtelSetup {
  tracer: Tracer;
  exporter: InMemorySpanExporter;
  provider: BasicTracerProvider;
}

/**
 * The OpenTelemetry peer as people run it: sdk-trace-base 2.x `BasicTracerProvider`, a `BatchSpanProcessor` with its
 * default buffer settings, an `InMemorySpanExporter` (so no network is measured), and the AsyncLocalStorage context
 * manager from context-async-hooks. Call `exporter.reset()` now and then so finished spans do not pile up.
 */
export function setupOtel(): OtelSetup {
  const exporter = new InMemorySpanExporter();
  const provider = new BasicTracerProvider({ spanProcessors: [new BatchSpanProcessor(exporter)] });
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  trace.setGlobalTracerProvider(provider);
  return { tracer: trace.getTracer('bench'), exporter, provider };
}
