import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import type { TraceTransport } from '../trace.types.js';
import type { DbSpanInfo, SpanExtra } from './span-extra.js';
import { callInSpan } from './span-call.js';
import { traceStorage } from './trace-storage.js';

/** Receives traces as they open and finish (the reporter). */
export interface TraceSink {
  readonly maxSpans: number;
  opened(context: TraceContext): void;
  finished(context: TraceContext): void;
  /** A trace closed without a report (see `TraceContext#discard`). */
  discarded?(context: TraceContext): void;
}

/** Where a trace was opened, kept as raw parts and joined into strings only when reported. */
export interface TraceOrigin {
  transport: TraceTransport;
  /** Class of the handler (its `name` is read at report time), or `undefined` for manual roots. */
  handlerClass?: { name: string };
  /** Method name of the handler, or the name given to `TraceContext.run`. */
  handlerName: string;
  /** HTTP method (`GET`), or `undefined`. */
  method?: string;
  /** Route pattern, event name or RPC pattern. */
  route?: string;
  /** Trace id of an incoming W3C `traceparent`. */
  parentTraceId?: string;
  /** Span id of an incoming W3C `traceparent`. */
  parentSpanId?: string;
}

const STRIDE = 3; // start, end, parent (depth is derived from the parents when reported)
const MAX_LOGS_PER_SPAN = 20;
const MAX_LOG_LENGTH = 500;

/**
 * One trace: the handler (span 0) and every traced call under it, recorded as numbers in a flat,
 * growing array of doubles (a plain array: on Node 20 a small Float64Array costs ~0.7 µs to allocate, a plain one
 * ~30 ns). Names are references to strings that already exist; trees, text and JSON
 * are built only when the trace is reported.
 */
export class TraceContext {
  /** The trace of the code that is running now, or `undefined` outside any trace. */
  static current(): TraceContext | undefined {
    return traceStorage.getStore()?.context;
  }

  /**
   * Runs `fn` in a new root trace (transport `manual`): for cron jobs, queue consumers and scripts. It is reported
   * by the same rules as a handler. Inside an existing trace it records `name` as a child span instead.
   * Returns what `fn` returns (a Promise or Observable is followed until it settles).
   */
  static run<T>(name: string, fn: () => T): T {
    const frame = traceStorage.getStore();
    if (frame) {
      const span = frame.context.openSpan(name, frame.span);
      return span < 0 ? fn() : (frame.context.call(span, fn, undefined, []) as T);
    }
    const context = new TraceContext({ transport: 'manual', handlerName: name }, defaultSink.current);
    return context.call(0, fn, undefined, []) as T;
  }

  /** @internal Replaced once when the HTTP middleware's trace learns its handler (see TraceInterceptor). */ origin: TraceOrigin;
  /** @internal */ readonly sink: TraceSink | undefined;
  /** @internal performance.now() when the trace opened. */ readonly startTime: number;
  /** @internal Date.now() when the trace opened. */ readonly startEpochMs: number;
  /** @internal Three numbers per span: start, end (NaN while running), parent. */ readonly data: number[];
  /** @internal */ readonly names: string[] = [];
  /** @internal */ count = 0;
  /** @internal */ droppedSpans = 0;
  /** @internal */ extras: Map<number, SpanExtra> | undefined;
  /** @internal The function Nest calls as the handler: its own `@Trace` wrapper must not add a second span. */
  rootFunction: unknown;
  /** @internal */ rootClaimed = false;
  /** @internal Set once the root span ended; later spans are not recorded. */ closed = false;
  /** @internal Opened by the HTTP middleware; no handler has claimed it yet. */ awaitingHandler = false;
  /** @internal The HTTP request while the trace awaits its handler (the route is read from it then). */ request: unknown;
  /** @internal Set when a `hung` report was written. */ hungReported = false;
  /** @internal The OpenTelemetry root span, when the bridge is on. */ otelSpan: unknown;
  private readonly maxSpans: number;
  private id: string | undefined;

  /** @internal Opens a trace whose root span (span 0) starts now. */
  constructor(origin: TraceOrigin, sink: TraceSink | undefined, rootName?: string) {
    this.origin = origin;
    this.sink = sink;
    this.maxSpans = sink?.maxSpans ?? 1000;
    this.id = origin.parentTraceId;
    this.startEpochMs = Date.now();
    this.startTime = performance.now();
    this.data = [this.startTime, Number.NaN, -1];
    this.names.push(rootName ?? origin.handlerName);
    this.count = 1;
    sink?.opened(this);
  }

  /** 32 lowercase hex characters: the incoming `traceparent` trace id, or a new random one. */
  get traceId(): string {
    return (this.id ??= randomUUID().replace(/-/g, ''));
  }

  /** @internal Takes the trace id of an enclosing OpenTelemetry trace (before anyone read `traceId`). */
  adoptTraceId(traceId: string): void {
    this.id = traceId;
  }

  /** Milliseconds since the trace opened. */
  get elapsedMs(): number {
    return performance.now() - this.startTime;
  }

  /** Adds a note to the current span (shown in the report). Never throws. */
  addLog(message: string): void {
    const frame = traceStorage.getStore();
    const span = frame?.context === this ? frame.span : 0;
    const extra = this.extra(span);
    const logs = (extra.logs ??= []);
    if (logs.length >= MAX_LOGS_PER_SPAN) return;
    const text = typeof message === 'string' ? message : String(message);
    logs.push(text.length > MAX_LOG_LENGTH ? `${text.slice(0, MAX_LOG_LENGTH)}…` : text);
  }

  /** @internal Opens a span under `parent`; returns its index, or -1 when it is not recorded. */
  openSpan(name: string, parent: number): number {
    if (this.closed) return -1;
    const index = this.count;
    if (index >= this.maxSpans) {
      this.droppedSpans++;
      return -1;
    }
    const data = this.data;
    data.push(performance.now(), Number.NaN, parent);
    this.names.push(name);
    this.count = index + 1;
    return index;
  }

  /** @internal Ends a span; ending span 0 finishes the trace. */
  endSpan(span: number, errored: boolean, error?: unknown): void {
    const data = this.data;
    const at = span * STRIDE + 1;
    if (!Number.isNaN(data[at])) return; // ended already (e.g. unsubscribe after complete)
    data[at] = performance.now();
    if (errored) {
      const extra = this.extra(span);
      extra.errored = true;
      extra.error = error;
    }
    if (span === 0) {
      this.closed = true;
      this.sink?.finished(this);
    }
  }

  /** @internal Ends a child span that just returned a plain value (the sync fast path: it cannot have ended yet). */
  endChildSpan(span: number): void {
    this.data[span * STRIDE + 1] = performance.now();
  }

  /** @internal The HTTP middleware's trace learns its handler: new origin and root span name. */
  adoptHandler(origin: TraceOrigin, rootName: string, rootFunction: unknown): void {
    this.origin = origin;
    this.names[0] = rootName;
    this.rootFunction = rootFunction;
    this.awaitingHandler = false;
    this.request = undefined;
  }

  /** @internal Records an error on the root span without ending it (an HTTP trace ends with its response). */
  markRootError(error: unknown): void {
    const extra = this.extra(0);
    if (extra.errored) return;
    extra.errored = true;
    extra.error = error;
  }

  /** @internal Closes a trace without reporting it (a request no handler took: a 404, a CORS preflight). */
  discard(): void {
    if (this.closed) return;
    this.closed = true;
    this.data[1] = performance.now();
    this.sink?.discarded?.(this);
  }

  /** @internal Restarts a span's clock (an Observable's span is timed from its first subscription). */
  restartSpan(span: number): void {
    this.data[span * STRIDE] = performance.now();
    this.data[span * STRIDE + 1] = Number.NaN;
  }

  /** @internal */
  markCancelled(span: number): void {
    this.extra(span).cancelled = true;
  }

  /** @internal Attaches SQL / Redis facts to a span. */
  setDb(span: number, info: DbSpanInfo): void {
    if (span >= 0) this.extra(span).db = info;
  }

  /** @internal */
  extra(span: number): SpanExtra {
    const extras = (this.extras ??= new Map<number, SpanExtra>());
    let extra = extras.get(span);
    if (!extra) extras.set(span, (extra = {}));
    return extra;
  }

  /** @internal Start / end / parent / depth of a span (`end` is NaN while it runs). */
  spanStart(span: number): number {
    return this.data[span * STRIDE] ?? Number.NaN;
  }
  /** @internal */
  spanEnd(span: number): number {
    return this.data[span * STRIDE + 1] ?? Number.NaN;
  }
  /** @internal */
  spanParent(span: number): number {
    return this.data[span * STRIDE + 2] ?? -1;
  }
  /** @internal */
  spanDepth(span: number): number {
    // A parent always has a lower index than its children, so this walk ends; reports use `spanDepths` instead.
    let depth = 0;
    for (let parent = this.spanParent(span); parent >= 0; parent = this.spanParent(parent)) depth++;
    return depth;
  }
  /** @internal The depth of every span, in one pass (a parent is always recorded before its children). */
  spanDepths(): number[] {
    const depths = new Array<number>(this.count);
    for (let span = 0; span < this.count; span++) {
      const parent = this.spanParent(span);
      depths[span] = parent < 0 ? 0 : (depths[parent] ?? 0) + 1;
    }
    return depths;
  }
  /** @internal */
  get finished(): boolean {
    return !Number.isNaN(this.data[1]);
  }

  /** @internal Calls `fn` inside `span` and ends the span when the result settles (sync, Promise or Observable). */
  call(span: number, fn: (...args: never[]) => unknown, thisArg: unknown, args: readonly unknown[]): unknown {
    return callInSpan(this, span, fn, thisArg, args);
  }
}

/** The sink `TraceContext.run` reports to: set by TraceModule while an app with it is running. */
export const defaultSink: { current: TraceSink | undefined } = { current: undefined };
