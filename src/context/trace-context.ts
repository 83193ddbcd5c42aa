import { randomBytes } from 'node:crypto';
import type { ActiveTrace } from './active-trace.js';
import { defaultSink } from './default-sink.js';
import { traceStorage } from './trace-storage.js';
import { runInTrace } from '../entry/manual.entry.js';

const facades = new WeakMap<ActiveTrace, TraceContext>();

/**
 * The trace of the code that is running: what an app reads and adds to. One object per trace (the same one each time
 * `current()` is called in it); its values are read when asked for, from the trace the library records.
 */
export class TraceContext {
  /** The trace of the code that is running now, or `undefined` outside any trace. */
  static current(): TraceContext | undefined {
    const trace = traceStorage.getStore()?.trace;
    if (trace === undefined) return undefined;
    let facade = facades.get(trace);
    if (facade === undefined) facades.set(trace, (facade = new TraceContext(trace)));
    return facade;
  }

  /**
   * Runs `fn` in a new root trace (transport `manual`): for scripts and any work no entry point sees. It is reported
   * by the same rules as a handler. Inside an existing trace it records `name` as a child span instead.
   * Returns what `fn` returns, the very same value (a Promise or Observable is followed until it settles).
   */
  static run<T>(name: string, fn: () => T): T {
    return runInTrace(name, fn, defaultSink.current);
  }

  // A class with a private constructor: apps get instances from `current()` only.
  private constructor(private readonly trace: ActiveTrace) {}

  /** 32 lowercase hex characters: the incoming `traceparent` trace id, the OpenTelemetry one, or a new random one. */
  get traceId(): string {
    return this.trace.traceId;
  }

  /**
   * 16 lowercase hex characters: the id of the span that is running now (the OpenTelemetry span id of the root when
   * the bridge is on), for log lines. The same span gives the same id each time; ids are made only when asked for.
   */
  get spanId(): string {
    const frame = traceStorage.getStore();
    const span = frame?.trace === this.trace ? frame.span : 0;
    const extra = this.trace.extra(span);
    return (extra.spanId ??= randomBytes(8).toString('hex'));
  }

  /** Milliseconds since the trace opened. */
  get elapsedMs(): number {
    return this.trace.elapsedMs;
  }

  /** Adds a note to the current span (shown in the report; at most 20 per span, 500 characters each). Never throws. */
  addLog(message: string): void {
    const frame = traceStorage.getStore();
    this.trace.addLog(frame?.trace === this.trace ? frame.span : 0, message);
  }
}
