import { Inject, Injectable } from '@nestjs/common';
import type { OnModuleInit } from '@nestjs/common';
import { traceStorage } from '../context/trace-storage.js';
import { errorInfo } from '../report/error-info.js';
import { MAX_LOG_LENGTH } from '../context/active-trace.js';
import type { ActiveTrace } from '../context/active-trace.js';
import type { CapturedLog } from '../context/span-extra.js';
import { dbFields, logMessage, routeName } from '../report/trace-record.builder.js';
import type { FinishedOutcome, TraceListener } from '../report/trace-listener.js';
import { FailureLog } from '../report/failure-log.js';
import { PrometheusMetrics } from '../prometheus/prometheus-metrics.js';
import type { ResolvedTraceOptions } from '../resolve-options.js';
import { MESSAGES } from '../trace.messages.js';
import { TRACE_OPTIONS } from '../trace.tokens.js';
import type { TraceTransport } from '../trace.types.js';
import type { OtelApi, OtelAttributes, OtelSpan, OtelTracer } from './otel-api.types.js';
import { keepByTraceId } from './trace-id-sampling.js';
import { blockedMsOf } from '../stall/trace-blocked-time.js';

const INVALID_TRACE_ID = '00000000000000000000000000000000';

/**
 * Sends every trace to OpenTelemetry, with the same tree and timings as the report.
 *
 * Only the root span is started live (when the trace opens, as a child of the active OTel span or of the incoming
 * `traceparent`), so the trace id is OpenTelemetry's from the first moment. The children are replayed with their
 * recorded start and end times after the handler finished, off the request path: the hot path stays the same
 * numbers-only recording, with or without OpenTelemetry.
 *
 * Which traces are exported is decided when the handler finished, from its outcome (`otel.okSampleRate`): the tail
 * sampling a Collector would do, without sending it every span first. A dropped trace's live root span is never
 * ended: the SDK hands a span to its processors (and so to the exporter) only in `end()`, and nothing in the SDK keeps
 * a started span, so it is garbage once the bridge forgets it (test/e2e/otel-sampling.e2e-spec.ts checks both).
 */
@Injectable()
export class OtelBridge implements TraceListener, OnModuleInit {
  private api: OtelApi | undefined;
  private tracer: OtelTracer | undefined;
  /** A tracer provider (an SDK) is registered: until then every span would be a no-op. */
  private hasProvider = false;
  private providerCheckedAt = Number.NEGATIVE_INFINITY;
  /** The live root span of each trace, from its opening until its export (the bridge's own state of a trace). */
  private readonly roots = new WeakMap<ActiveTrace, OtelSpan>();
  /** Traces whose remote OpenTelemetry parent is sampled: the caller records them, so they are always exported. */
  private readonly sampledByParent = new WeakSet<ActiveTrace>();

  constructor(
    @Inject(TRACE_OPTIONS) private readonly options: ResolvedTraceOptions,
    @Inject(FailureLog) private readonly failures: FailureLog,
    @Inject(PrometheusMetrics) private readonly metrics: PrometheusMetrics,
  ) {}

  async onModuleInit(): Promise<void> {
    const { enabled, tracerName } = this.options.otel;
    if (enabled === false) return;
    try {
      this.api = (await import('@opentelemetry/api')) as unknown as OtelApi;
    } catch (error) {
      if (enabled === true) throw new Error(MESSAGES.missingPackage('otel', '@opentelemetry/api'), { cause: error });
      return; // 'auto' and not installed: nothing to do
    }
    this.tracer = this.api.trace.getTracer(tracerName);
  }

  /** Whether `@opentelemetry/api` was found and the bridge follows traces. */
  get active(): boolean {
    return this.tracer !== undefined;
  }

  opened(context: ActiveTrace): void {
    const api = this.api;
    const tracer = this.tracer;
    if (!api || !tracer || !this.providerRegistered(api, context.startTime)) return;
    const origin = context.origin;
    let parent = api.context.active();
    const activeParent = api.trace.getSpan(parent)?.spanContext();
    if (activeParent?.isRemote === true && (activeParent.traceFlags & 1) === 1) this.sampledByParent.add(context);
    if (activeParent === undefined && origin.parentTraceId && origin.parentSpanId) {
      parent = api.trace.setSpanContext(api.ROOT_CONTEXT, {
        traceId: origin.parentTraceId,
        spanId: origin.parentSpanId,
        traceFlags: 1,
        isRemote: true,
      });
    }
    const kind = rootKind(api, origin.transport);
    // Name and attributes are set when the span is exported: an HTTP trace learns its route only later, and with no
    // provider registered (the API installed as someone's dependency) this stays a near-free no-op span per request.
    const root = tracer.startSpan(context.names[0] || 'HTTP request', { kind, startTime: context.startTime }, parent);
    const traceId = root.spanContext().traceId;
    if (traceId !== INVALID_TRACE_ID) context.adoptTraceId(traceId);
    if (!root.isRecording()) return;
    this.roots.set(context, root);
    // `TraceContext#spanId` of the root is the OpenTelemetry span id, so log lines point at a span that exists.
    context.extra(0).spanId = root.spanContext().spanId;
  }

  /**
   * With `@opentelemetry/api` installed but no SDK registered (it comes with many packages), each trace would still
   * pay for a no-op span. Checked at most once a second until a provider shows up, so an SDK registered after the
   * app started is picked up; then never again.
   */
  private providerRegistered(api: OtelApi, now: number): boolean {
    if (this.hasProvider) return true;
    if (now - this.providerCheckedAt < 1000) return false;
    this.providerCheckedAt = now;
    try {
      const provider = api.trace.getTracerProvider();
      const delegate = typeof provider.getDelegate === 'function' ? provider.getDelegate() : provider;
      this.hasProvider =
        (delegate as { constructor?: { name?: unknown } } | undefined)?.constructor?.name !== 'NoopTracerProvider';
    } catch {
      this.hasProvider = true; // unknown API shape: behave as before, start the span
    }
    return this.hasProvider;
  }

  /** The live OpenTelemetry root span of a trace, until it is exported. */
  liveRoot(trace: ActiveTrace): OtelSpan | undefined {
    return this.roots.get(trace);
  }

  finished(context: ActiveTrace, outcome: FinishedOutcome): void {
    if (!this.roots.has(context)) return;
    const label = this.outcomeLabel(context, outcome);
    if (!this.keeps(context, label)) {
      // Not ended on purpose (see the class comment): forgetting it is what drops it.
      this.roots.delete(context);
      this.metrics.otelDecision('dropped', label);
      return;
    }
    this.metrics.otelDecision('exported', label);
    // After the response, outside the request's context.
    traceStorage.exit(() => setImmediate(() => this.export(context)));
  }

  /** The outcome as reported: `hung` for a trace that ran past `hungThresholdMs` (it had a hung report). */
  private outcomeLabel(context: ActiveTrace, outcome: FinishedOutcome): 'ok' | 'slow' | 'error' | 'hung' {
    const hung = this.options.hungThresholdMs;
    if (outcome !== 'error' && hung > 0 && context.spanEnd(0) - context.startTime >= hung) return 'hung';
    return outcome;
  }

  /**
   * Slow, error and hung traces always, and those the event loop was blocked in (`blockedMs`, even when fast enough to
   * be `ok`); a trace the caller samples always; other `ok` ones by `otel.okSampleRate`.
   */
  private keeps(context: ActiveTrace, outcome: string): boolean {
    const rate = this.options.otel.okSampleRate;
    // The default rate keeps every trace: decided before any per-trace lookup.
    if (outcome !== 'ok' || rate >= 1) return true;
    if (blockedMsOf(context) !== undefined) return true;
    if (context.origin.parentSampled === true || this.sampledByParent.has(context)) return true;
    return keepByTraceId(context.traceId, rate);
  }

  private export(context: ActiveTrace): void {
    const api = this.api;
    const tracer = this.tracer;
    const root = this.roots.get(context);
    if (!api || !tracer || !root) return;
    this.roots.delete(context);
    try {
      const spans: OtelSpan[] = [root];
      const rootEnd = context.spanEnd(0);
      for (let index = 1; index < context.count; index++) {
        const parent = spans[context.spanParent(index)] ?? root;
        const extra = context.extras?.get(index);
        const name = context.names[index] ?? '';
        let span: OtelSpan;
        if (extra?.db) {
          const db = dbFields(extra.db, this.options);
          const attributes: OtelAttributes = {
            'db.system': db.system ?? extra.db.system,
            'db.system.name': db.system ?? extra.db.system,
            'db.operation.name': db.name.split(' ')[1] ?? '',
          };
          if (db.statement !== undefined) {
            attributes['db.query.text'] = db.statement;
            attributes['db.statement'] = db.statement;
          }
          if (extra.db.rows !== undefined) attributes['db.response.returned_rows'] = extra.db.rows;
          if (extra.db.errorCode !== undefined) attributes['db.response.status_code'] = extra.db.errorCode;
          span = tracer.startSpan(
            db.name,
            { kind: api.SpanKind.CLIENT, startTime: context.spanStart(index), attributes },
            api.trace.setSpan(api.ROOT_CONTEXT, parent),
          );
        } else {
          const dot = name.lastIndexOf('.');
          const attributes: OtelAttributes =
            dot > 0
              ? {
                  'code.function': name.slice(dot + 1),
                  'code.namespace': name.slice(0, dot),
                  'code.function.name': name,
                }
              : { 'code.function.name': name };
          span = tracer.startSpan(
            name,
            { kind: api.SpanKind.INTERNAL, startTime: context.spanStart(index), attributes },
            api.trace.setSpan(api.ROOT_CONTEXT, parent),
          );
        }
        this.markError(span, extra?.errored === true, extra?.error, context.spanEnd(index));
        if (extra?.logs) addLogEvents(span, extra.logs, context.spanStart(index));
        spans.push(span);
        const end = context.spanEnd(index);
        span.end(Number.isNaN(end) ? rootEnd : end);
      }
      root.updateName(
        context.origin.transport === 'http' ? routeName(context) : (context.names[0] ?? context.origin.handlerName),
      );
      for (const [key, value] of Object.entries(rootAttributes(context))) root.setAttribute(key, value);
      const rootExtra = context.extras?.get(0);
      if (rootExtra?.logs) addLogEvents(root, rootExtra.logs, context.spanStart(0));
      this.markError(root, rootExtra?.errored === true, rootExtra?.error, rootEnd);
      root.end(rootEnd);
    } catch (error) {
      this.failures.failed('OpenTelemetry export', error);
    }
  }

  private markError(span: OtelSpan, errored: boolean, error: unknown, time: number): void {
    if (!errored || !this.api) return;
    // The masked message (SQL values removed), never the raw error object.
    const info = errorInfo(error, this.options.maxStackLength);
    span.setStatus({ code: this.api.SpanStatusCode.ERROR, message: info.message });
    span.recordException(info, Number.isNaN(time) ? undefined : time);
  }
}

/**
 * A span's notes as `log` events: a captured `Logger` call at the time it was made, with its level and context; an
 * `addLog` note (no time kept) at the span's start.
 */
function addLogEvents(span: OtelSpan, logs: readonly (string | CapturedLog)[], spanStart: number): void {
  for (const log of logs) {
    if (typeof log === 'string') {
      span.addEvent('log', { 'log.message': log }, spanStart);
      continue;
    }
    const message = logMessage(log.message);
    const attributes: OtelAttributes = {
      'log.severity': log.level,
      'log.message': message.length > MAX_LOG_LENGTH ? `${message.slice(0, MAX_LOG_LENGTH)}…` : message,
    };
    if (log.context !== undefined && log.context !== null && log.context !== '')
      attributes['log.context'] = logMessage(log.context);
    span.addEvent('log', attributes, log.at);
  }
}

function rootAttributes(context: ActiveTrace): OtelAttributes {
  const { transport, handlerClass, handlerName, method, route } = context.origin;
  const attributes: OtelAttributes = { 'code.function': handlerName };
  if (handlerClass) attributes['code.namespace'] = handlerClass.name;
  if (transport === 'http') {
    if (method) attributes['http.request.method'] = method;
    if (route) attributes['http.route'] = route;
  } else if (transport === 'ws') {
    attributes['messaging.system'] = 'socket.io';
    attributes['messaging.operation.type'] = 'process';
    if (route) attributes['messaging.destination.name'] = route;
  } else if (transport === 'rpc') {
    attributes['rpc.system'] = 'nestjs';
    attributes['rpc.method'] = route ?? handlerName;
    if (handlerClass) attributes['rpc.service'] = handlerClass.name;
  } else if (transport === 'queue') {
    const job = context.origin.queue;
    attributes['messaging.system'] = 'bullmq';
    attributes['messaging.operation.type'] = 'process';
    if (job) {
      attributes['messaging.destination.name'] = job.name;
      attributes['messaging.message.id'] = job.jobId;
      attributes['messaging.operation.name'] = job.jobName;
    }
  } else if (transport === 'cron') {
    // OpenTelemetry has no convention for scheduled jobs or in-process events: the route under names of our own.
    if (route) attributes['nestjs.schedule.job'] = route;
  } else if (transport === 'event') {
    if (route) attributes['nestjs.event.name'] = route;
  }
  return attributes;
}

/**
 * A queue job is the consumer side of a message (`CONSUMER`); scheduled jobs, in-process events and manual roots are
 * work the process started itself (`INTERNAL`); requests and messages it serves are `SERVER`.
 */
function rootKind(api: OtelApi, transport: TraceTransport): number {
  if (transport === 'queue') return api.SpanKind.CONSUMER;
  if (transport === 'manual' || transport === 'cron' || transport === 'event') return api.SpanKind.INTERNAL;
  return api.SpanKind.SERVER;
}
