import { ActiveTrace } from '../context/active-trace.js';
import type { TraceSink } from '../context/active-trace.js';
import { callInSpan } from '../context/span-call.js';
import { traceStorage } from '../context/trace-storage.js';

/**
 * The `manual` transport: `TraceContext.run(name, fn)`. Outside any trace it opens a root named `name` that reports
 * to `sink` by the usual rules; inside one it records `name` as a child span of the running span. Returns what `fn`
 * returns (the very same value; a Promise or Observable is followed until it settles).
 */
export function runInTrace<T>(name: string, fn: () => T, sink: TraceSink | undefined): T {
  const frame = traceStorage.getStore();
  if (frame) {
    const span = frame.trace.openSpan(name, frame.span);
    return span < 0 ? fn() : (callInSpan(frame.trace, span, fn, undefined, []) as T);
  }
  const trace = new ActiveTrace({ transport: 'manual', handlerName: name }, sink);
  return callInSpan(trace, 0, fn, undefined, []) as T;
}
