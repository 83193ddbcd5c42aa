import type { TraceOrigin } from '../context/active-trace.js';
import { parseTraceparent } from '../utils/traceparent.util.js';

// Span names never change for a handler: computed once, not per call.
const spanNames = new WeakMap<object, string>();

/** `Class.method` of a handler, remembered per handler function. */
export function handlerSpanName(origin: TraceOrigin, handler: object): string {
  let name = spanNames.get(handler);
  if (name === undefined) {
    name = origin.handlerClass ? `${origin.handlerClass.name}.${origin.handlerName}` : origin.handlerName;
    spanNames.set(handler, name);
  }
  return name;
}

/** An event name or message pattern as a route: strings as they are, objects (`{ cmd: 'sum' }`) as JSON. */
export function patternName(pattern: unknown): string {
  if (typeof pattern === 'string') return pattern;
  try {
    return JSON.stringify(pattern) ?? String(pattern);
  } catch {
    return String(pattern);
  }
}

/** Continues the caller's trace when `traceparent` is a valid W3C header value (malformed ones are ignored). */
export function withParent(origin: TraceOrigin, traceparent: unknown): TraceOrigin {
  const parent = parseTraceparent(traceparent);
  if (parent) {
    origin.parentTraceId = parent.traceId;
    origin.parentSpanId = parent.spanId;
    if (parent.sampled) origin.parentSampled = true;
  }
  return origin;
}
