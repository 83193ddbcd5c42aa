import { TraceContext } from '../context/trace-context.js';

/**
 * The W3C `traceparent` of the span running now (`00-<traceId>-<spanId>-01`), or `undefined` outside any trace. The
 * sampled flag is set: the library records every trace and decides what to report when it ends.
 */
export function currentTraceparent(): string | undefined {
  const context = TraceContext.current();
  return context === undefined ? undefined : `00-${context.traceId}-${context.spanId}-01`;
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
