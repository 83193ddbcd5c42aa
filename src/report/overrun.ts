import type { ActiveTrace } from '../context/active-trace.js';

/**
 * By how many ms a finished `@Interval(n)` run took longer than its period `n`, or `undefined` (not an interval job,
 * still running, or on time). Such a run is reported `slow` whatever `slowThresholdMs` says: the tick that overruns
 * its period is the one that makes a game stutter.
 */
export function overrunMs(context: ActiveTrace): number | undefined {
  const period = context.origin.intervalMs;
  if (period === undefined) return undefined;
  const over = context.spanEnd(0) - context.startTime - period;
  return over > 0 ? over : undefined;
}
