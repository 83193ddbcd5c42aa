import type { ActiveTrace } from '../../src/context/active-trace.js';
import { traceStorage } from '../../src/context/trace-storage.js';

/** The library's internal record of the running trace (what `TraceContext.current()` is a façade over). */
export function currentTrace(): ActiveTrace | undefined {
  return traceStorage.getStore()?.trace;
}
