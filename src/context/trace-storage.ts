import { AsyncLocalStorage } from 'node:async_hooks';
import type { ActiveTrace } from './active-trace.js';

/**
 * What the library's AsyncLocalStorage holds: the trace and the span that async work started here belongs to.
 * A new frame per traced call (cheap: two fields) is what makes concurrent children
 * (`Promise.all([a(), b()])`) land under the right parent. `span` changes only around a call to a method that
 * has proven synchronous or quiet (see traced-method.ts), and is restored before that call returns.
 */
export class TraceFrame {
  constructor(
    readonly trace: ActiveTrace,
    public span: number,
  ) {}
}

// One storage per process even when both the ESM and the CommonJS build of the library are loaded
// (the dual-package hazard), so a context opened by one is seen by the other.
const KEY = Symbol.for('nestjs-trace.storage');
const holder = globalThis as typeof globalThis & { [KEY]?: AsyncLocalStorage<TraceFrame> };

/** The library's one AsyncLocalStorage. */
export const traceStorage: AsyncLocalStorage<TraceFrame> = (holder[KEY] ??= new AsyncLocalStorage<TraceFrame>());
