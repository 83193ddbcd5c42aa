import { TraceContext } from '../context/trace-context.js';
import { traceStorage } from '../context/trace-storage.js';

/**
 * The W3C `traceparent` of the span running now (`00-<traceId>-<spanId>-<flags>`), or `undefined` outside any trace.
 * The sampled flag (`01`) is passed on only when this trace's own caller set it: whether this trace is exported is
 * decided when it ends, after the message has left, so the consumer makes the same decision itself from the trace id
 * (`otel.okSampleRate` decides alike in every service) instead of being told to export every trace (`00`).
 */
export function currentTraceparent(): string | undefined {
  const context = TraceContext.current();
  if (context === undefined) return undefined;
  const sampled = traceStorage.getStore()?.trace.origin.parentSampled === true;
  return `00-${context.traceId}-${context.spanId}-${sampled ? '01' : '00'}`;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return false;
  const prototype: unknown = Object.getPrototypeOf(value);
  return prototype === Object.prototype || prototype === null;
}

/**
 * The payload to send instead of `data`: inside a trace, a shallow copy of a plain-object `data` with a `traceparent`
 * field (the format the `rpc` and `queue` entry points read); `data` itself in every other case — outside a trace,
 * a payload that is not a plain object (a string, an array, a class instance), or one that already has a
 * `traceparent` of its own (the caller's choice wins). The caller's object is never modified.
 */
export function withTraceparent(data: unknown): unknown {
  if (!isPlainObject(data) || Object.prototype.hasOwnProperty.call(data, 'traceparent')) return data;
  const traceparent = currentTraceparent();
  return traceparent === undefined ? data : { ...data, traceparent };
}
