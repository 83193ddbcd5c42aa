import type { ActiveTrace } from '../context/active-trace.js';

/**
 * The traces still running, which the reporter's sweep looks at (hung traces, slow ones to profile): an intrusive
 * doubly linked list through `ActiveTrace#runningOlder` / `#runningNewer`. Adding and removing a trace are a few field
 * writes, where a `Set`'s add and delete of a fresh object cost ~55 ns on Node 20, ~100 ns on Node 24 and ~140 ns on
 * Node 22 (a loop over fresh objects, each of which needs an identity hash first): one add and one delete per request.
 */
export class RunningTraces {
  private newest: ActiveTrace | undefined;

  /** Every member but the newest has a newer neighbour. */
  private has(trace: ActiveTrace): boolean {
    return trace === this.newest || trace.runningNewer !== undefined;
  }

  add(trace: ActiveTrace): void {
    if (this.has(trace)) return;
    const newest = this.newest;
    trace.runningOlder = newest;
    if (newest !== undefined) newest.runningNewer = trace;
    this.newest = trace;
  }

  delete(trace: ActiveTrace): void {
    if (!this.has(trace)) return;
    const older = trace.runningOlder;
    const newer = trace.runningNewer;
    if (older !== undefined) older.runningNewer = newer;
    if (newer !== undefined) newer.runningOlder = older;
    else this.newest = older;
    trace.runningOlder = undefined;
    trace.runningNewer = undefined;
  }

  /** Calls `visit` on every running trace, newest first; `visit` may delete the trace it is given. */
  forEach(visit: (trace: ActiveTrace) => void): void {
    let trace = this.newest;
    while (trace !== undefined) {
      const older: ActiveTrace | undefined = trace.runningOlder;
      visit(trace);
      trace = older;
    }
  }

  clear(): void {
    this.forEach((trace) => this.delete(trace));
  }
}
