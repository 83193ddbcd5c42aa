import { Inject, Injectable } from '@nestjs/common';
import type { OnModuleInit } from '@nestjs/common';
import type { ActiveTrace } from '../context/active-trace.js';
import type { FinishedOutcome, TraceListener } from '../report/trace-listener.js';
import type { ResolvedTraceOptions } from '../resolve-options.js';
import { MESSAGES } from '../trace.messages.js';
import { TRACE_OPTIONS } from '../trace.tokens.js';

/** The parts of prom-client used here, so the library's types never reference the optional package. */
interface Histogram {
  observe(labels: Record<string, string>, value: number): void;
}
interface Counter {
  inc(labels: Record<string, string>): void;
}
interface Registry {
  getSingleMetric(name: string): unknown;
}
interface PromClient {
  register: Registry;
  Histogram: new (config: {
    name: string;
    help: string;
    labelNames: string[];
    buckets: number[];
    registers: Registry[];
  }) => Histogram;
  Counter: new (config: { name: string; help: string; labelNames: string[]; registers: Registry[] }) => Counter;
}

export const HANDLER_HISTOGRAM = 'nestjs_trace_handler_duration_seconds';
export const METHOD_HISTOGRAM = 'nestjs_trace_method_duration_seconds';
/** Time SQL statements waited in the app's pool queue; only statements that waited are observed. */
export const POOL_WAIT_HISTOGRAM = 'nestjs_trace_db_pool_wait_seconds';
export const OTEL_TRACES_COUNTER = 'nestjs_trace_otel_traces_total';

/** What the OpenTelemetry bridge decided for a finished trace (`otel.okSampleRate`). */
export type OtelExportDecision = 'exported' | 'dropped';

/**
 * Prometheus histograms of handler (and, opt-in, method) durations, and of SQL pool waits (`system` label). Labels are the handler's `Class.method`, its
 * transport and outcome: bounded by the app's code, never by raw URLs.
 */
@Injectable()
export class PrometheusMetrics implements TraceListener, OnModuleInit {
  private handlers: Histogram | undefined;
  private methods: Histogram | undefined;
  private poolWaits: Histogram | undefined;
  private otelTraces: Counter | undefined;

  constructor(@Inject(TRACE_OPTIONS) private readonly options: ResolvedTraceOptions) {}

  async onModuleInit(): Promise<void> {
    const settings = this.options.prometheus;
    if (settings === false) return;
    let client: PromClient;
    try {
      client = (await import('prom-client')) as unknown as PromClient;
    } catch (error) {
      throw new Error(MESSAGES.missingPackage('prometheus', 'prom-client'), { cause: error });
    }
    const registry = (settings.registry as Registry | undefined) ?? client.register;
    if (typeof registry.getSingleMetric !== 'function') {
      throw new Error(MESSAGES.invalidOption('prometheus.registry', 'a prom-client Registry', settings.registry));
    }
    const histogram = (name: string, help: string, labelNames: string[]): Histogram =>
      // Several apps in one process (tests, workers) share the registry's metric instead of failing to register twice.
      (registry.getSingleMetric(name) as Histogram | undefined) ??
      new client.Histogram({ name, help, labelNames, buckets: settings.buckets, registers: [registry] });
    this.handlers = histogram(HANDLER_HISTOGRAM, 'Duration of NestJS handlers (HTTP, WebSocket, RPC), in seconds', [
      'transport',
      'handler',
      'outcome',
    ]);
    this.poolWaits = histogram(
      POOL_WAIT_HISTOGRAM,
      "Time SQL statements waited for a connection from the app's pool (statements that waited), in seconds",
      ['system'],
    );
    if (settings.methods)
      this.methods = histogram(METHOD_HISTOGRAM, 'Duration of @Trace methods, in seconds', ['method']);
    if (this.options.otel.enabled !== false) {
      this.otelTraces =
        (registry.getSingleMetric(OTEL_TRACES_COUNTER) as Counter | undefined) ??
        new client.Counter({
          name: OTEL_TRACES_COUNTER,
          help: 'Finished traces by OpenTelemetry export decision (otel.okSampleRate) and outcome',
          labelNames: ['decision', 'outcome'],
          registers: [registry],
        });
    }
  }

  /** Counts a trace the OpenTelemetry bridge exported or dropped (the bridge calls it; no-op when off). */
  otelDecision(decision: OtelExportDecision, outcome: string): void {
    this.otelTraces?.inc({ decision, outcome });
  }

  /** Whether the histograms are registered (`prometheus` is on). */
  get active(): boolean {
    return this.handlers !== undefined;
  }

  finished(context: ActiveTrace, outcome: FinishedOutcome): void {
    const handlers = this.handlers;
    if (!handlers) return;
    handlers.observe(
      { transport: context.origin.transport, handler: context.names[0] ?? '', outcome },
      (context.spanEnd(0) - context.startTime) / 1000,
    );
    const extras = context.extras;
    const poolWaits = this.poolWaits;
    if (extras !== undefined && poolWaits !== undefined) {
      for (const extra of extras.values()) {
        const db = extra.db;
        if (db?.poolWaitMs !== undefined) poolWaits.observe({ system: db.system }, db.poolWaitMs / 1000);
      }
    }
    const methods = this.methods;
    if (!methods) return;
    for (let index = 1; index < context.count; index++) {
      if (context.extras?.get(index)?.db) continue;
      const end = context.spanEnd(index);
      if (!Number.isNaN(end))
        methods.observe({ method: context.names[index] ?? '' }, (end - context.spanStart(index)) / 1000);
    }
  }
}
