import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import type { QueueJobRecord, TraceTransport } from '../trace.types.js';
import type { CapturedLog, DbSpanInfo, SpanExtra } from './span-extra.js';

/** Receives traces as they open and finish (the reporter). */
export interface TraceSink {
  readonly maxSpans: number;
  opened(trace: ActiveTrace): void;
  finished(trace: ActiveTrace): void;
  /** A trace closed without a report (see `ActiveTrace#discard`). */
  discarded?(trace: ActiveTrace): void;
}

/** Where a trace was opened, kept as raw parts and joined into strings only when reported. */
export interface TraceOrigin {
  transport: TraceTransport;
  /** Class of the handler (its `name` is read at report time), or `undefined` for manual roots. */
  handlerClass?: { name: string };
  /** Method name of the handler, or the name given to `ActiveTrace.run`. */
  handlerName: string;
  /** HTTP method (`GET`), or `undefined`. */
  method?: string;
  /** Route pattern, event name or RPC pattern. */
  route?: string;
  /** Trace id of an incoming W3C `traceparent`. */
  parentTraceId?: string;
  /** Span id of an incoming W3C `traceparent`. */
  parentSpanId?: string;
  /** The incoming `traceparent` has its sampled flag set (the caller records this trace). */
  parentSampled?: boolean;
  /** Period of an `@Interval` job: a run longer than this is reported `slow` with `overrunMs`. */
  intervalMs?: number;
  /** The BullMQ job of a `queue` trace. */
  queue?: QueueJobRecord;
}

const STRIDE = 3; // start, end, parent (depth is derived from the parents when reported)
const MAX_LOGS_PER_SPAN = 20;
/** Longest note kept, in characters (captured log lines are cut to it when reported). */
export const MAX_LOG_LENGTH = 500;

/**
 * One trace as the library records it (internal; users see the `TraceContext` façade): the handler (span 0) and
 * every traced call under it, recorded as numbers in a flat, growing array of doubles (a plain array: on Node 20 a
 * small Float64Array costs ~0.7 µs to allocate, a plain one ~30 ns). Names are references to strings that already
 * exist; trees, text and JSON are built only when the trace is reported. State that belongs to one subsystem lives in
 * that subsystem (the HTTP hand-off in `entry/http.entry.ts`, the hung flag in the reporter, the OpenTelemetry span in
 * the bridge); only the root claim is here, because every entry point and every `@Trace` wrapper reads it.
 */
export class ActiveTrace {
  /** Replaced once when the HTTP middleware's trace learns its handler. */
  origin: TraceOrigin;
  readonly sink: TraceSink | undefined;
  /** performance.now() when the trace opened. */
  readonly startTime: number;
  /** Three numbers per span: start, end (NaN while running), parent. */
  readonly data: number[];
  readonly names: string[] = [];
  count = 0;
  droppedSpans = 0;
  extras: Map<number, SpanExtra> | undefined;
  /**
   * Calls of `extra()` so far: with `count`, what tells a traced async method that nothing in its trace used the
   * current frame while it was pending (see `watchQuiet` in decorators/traced-method.ts).
   */
  extraCalls = 0;
  /** The function Nest calls as the handler: its own `@Trace` wrapper must not add a second span. */
  rootFunction: unknown;
  /** Set once the handler took span 0 as its own. */
  rootClaimed = false;
  /**
   * The entry point's hand-off while the trace waits for its handler (HTTP: the request its route is read from), else
   * `undefined`. A field, not a WeakMap kept by the entry point: a WeakMap set, get and delete cost ~100-130 ns per
   * request on Node 20-24 (a loop over fresh objects), and each live entry is one more ephemeron for the GC.
   */
  awaitingHandler: object | undefined = undefined;
  /** Neighbours in the reporter's list of running traces (report/running-traces.ts, which alone writes them). */
  runningOlder: ActiveTrace | undefined = undefined;
  runningNewer: ActiveTrace | undefined = undefined;
  /** Set once the root span ended; later spans are not recorded. */
  closed = false;
  private readonly maxSpans: number;
  private id: string | undefined;

  /** Opens a trace whose root span (span 0) starts now. */
  constructor(origin: TraceOrigin, sink: TraceSink | undefined, rootName?: string) {
    this.origin = origin;
    this.sink = sink;
    this.maxSpans = sink?.maxSpans ?? 1000;
    this.id = origin.parentTraceId;
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

  /** Takes the trace id of an enclosing OpenTelemetry trace (before anyone read `traceId`). */
  adoptTraceId(traceId: string): void {
    this.id = traceId;
  }

  /** Milliseconds since the trace opened. */
  get elapsedMs(): number {
    return performance.now() - this.startTime;
  }

  /** Adds a note to `span` (shown in the report), up to 20 notes of 500 characters per span. Never throws. */
  addLog(span: number, message: string): void {
    const extra = this.extra(span);
    const logs = (extra.logs ??= []);
    if (logs.length >= MAX_LOGS_PER_SPAN) return;
    const text = typeof message === 'string' ? message : String(message);
    logs.push(text.length > MAX_LOG_LENGTH ? `${text.slice(0, MAX_LOG_LENGTH)}…` : text);
  }

  /** Keeps a Nest `Logger` call made in `span` (a reference; text is made when reported), within `addLog`'s caps. */
  captureLog(span: number, log: CapturedLog): void {
    const logs = (this.extra(span).logs ??= []);
    if (logs.length < MAX_LOGS_PER_SPAN) logs.push(log);
  }

  /** Opens a span under `parent`; returns its index, or -1 when it is not recorded. */
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

  /** Ends a span; ending span 0 finishes the trace. */
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

  /** Ends a child span that just returned a plain value (the sync fast path: it cannot have ended yet). */
  endChildSpan(span: number): void {
    this.data[span * STRIDE + 1] = performance.now();
  }

  /** The HTTP middleware's trace learns its handler: new origin and root span name. */
  adoptHandler(origin: TraceOrigin, rootName: string, rootFunction: unknown): void {
    this.origin = origin;
    this.names[0] = rootName;
    this.rootFunction = rootFunction;
  }

  /** Records an error on the root span without ending it (an HTTP trace ends with its response). */
  markRootError(error: unknown): void {
    const extra = this.extra(0);
    if (extra.errored) return;
    extra.errored = true;
    extra.error = error;
  }

  /** Closes a trace without reporting it (a request no handler took: a 404, a CORS preflight). */
  discard(): void {
    if (this.closed) return;
    this.closed = true;
    this.data[1] = performance.now();
    this.sink?.discarded?.(this);
  }

  /** Restarts a span's clock (an Observable's span is timed from its first subscription). */
  restartSpan(span: number): void {
    this.data[span * STRIDE] = performance.now();
    this.data[span * STRIDE + 1] = Number.NaN;
  }

  markCancelled(span: number): void {
    this.extra(span).cancelled = true;
  }

  /** Attaches SQL / Redis facts to a span. */
  setDb(span: number, info: DbSpanInfo): void {
    if (span >= 0) this.extra(span).db = info;
  }

  extra(span: number): SpanExtra {
    this.extraCalls++;
    const extras = (this.extras ??= new Map<number, SpanExtra>());
    let extra = extras.get(span);
    if (!extra) extras.set(span, (extra = {}));
    return extra;
  }

  /** Start / end / parent / depth of a span (`end` is NaN while it runs). */
  spanStart(span: number): number {
    return this.data[span * STRIDE] ?? Number.NaN;
  }
  spanEnd(span: number): number {
    return this.data[span * STRIDE + 1] ?? Number.NaN;
  }
  spanParent(span: number): number {
    return this.data[span * STRIDE + 2] ?? -1;
  }
  spanDepth(span: number): number {
    // A parent always has a lower index than its children, so this walk ends; reports use `spanDepths` instead.
    let depth = 0;
    for (let parent = this.spanParent(span); parent >= 0; parent = this.spanParent(parent)) depth++;
    return depth;
  }
  /** The depth of every span, in one pass (a parent is always recorded before its children). */
  spanDepths(): number[] {
    const depths = new Array<number>(this.count);
    for (let span = 0; span < this.count; span++) {
      const parent = this.spanParent(span);
      depths[span] = parent < 0 ? 0 : (depths[parent] ?? 0) + 1;
    }
    return depths;
  }
  get finished(): boolean {
    return !Number.isNaN(this.data[1]);
  }
}
