/** A count of calls to a method, kept apart by who made them; see {@link countCallsOutsideNode}. */
export interface CallsOutsideNode {
  /** Calls whose direct caller is not Node's own code (the library, a dependency, the test). */
  readonly calls: number;
  /** Calls made by Node's own code, e.g. Node 24's `AsyncLocalStorage#run` calling `enterWith` on itself. */
  readonly nodeCalls: number;
  restore(): void;
}

/**
 * Counts calls to `target[key]` without changing what it does, split by the direct caller's stack frame: a frame in
 * `node:` (Node's built-in modules) is Node's own call. Node 24's `AsyncLocalStorage#run` is built on
 * `enterWith` (lib/internal/async_local_storage/async_context_frame.js calls `this.enterWith(data)` and restores the
 * prior store the same way), so "the library never calls `enterWith`" has to look at who called it.
 */
export function countCallsOutsideNode<T extends object, K extends keyof T>(target: T, key: K): CallsOutsideNode {
  const original = target[key] as unknown as (...args: unknown[]) => unknown;
  const counts = { calls: 0, nodeCalls: 0 };
  const counted = function (this: unknown, ...args: unknown[]): unknown {
    const holder: { stack?: string } = {};
    // Starts the trace at the caller of this wrapper; one frame is all we read.
    Error.captureStackTrace(holder, counted);
    const caller = holder.stack?.split('\n')[1] ?? '';
    if (/\(node:|at node:/.test(caller)) counts.nodeCalls++;
    else counts.calls++;
    return original.apply(this, args);
  };
  Object.assign(target, { [key]: counted });
  return {
    get calls() {
      return counts.calls;
    },
    get nodeCalls() {
      return counts.nodeCalls;
    },
    restore: () => Object.assign(target, { [key]: original }),
  };
}
