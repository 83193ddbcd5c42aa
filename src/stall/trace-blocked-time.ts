import { performance } from 'node:perf_hooks';
import type { ActiveTrace } from '../context/active-trace.js';

interface BlockedTime {
  /** Blocks that ended, in ms. */
  total: number;
  /** `performance.now()` when the block still being settled started, or NaN. */
  openSince: number;
}

/**
 * How long the event loop was blocked while a trace ran, kept by trace (the watchdog's own state of a trace, like the
 * other subsystems keep theirs). The watchdog learns which trace was current while the loop is blocked, and
 * how long the block lasted only on the next heartbeat; a report built in between counts the block up to now (the
 * report is being built, so the loop has turned again).
 */
const blocked = new WeakMap<ActiveTrace, BlockedTime>();

export function blockStarted(trace: ActiveTrace, since: number): void {
  const time = blocked.get(trace);
  if (time === undefined) blocked.set(trace, { total: 0, openSince: since });
  else if (Number.isNaN(time.openSince)) time.openSince = since;
}

export function blockEnded(trace: ActiveTrace, blockedMs: number): void {
  const time = blocked.get(trace);
  if (time === undefined || Number.isNaN(time.openSince)) return;
  time.total += blockedMs;
  time.openSince = Number.NaN;
}

/** Milliseconds `trace` was blocked, or `undefined` when the watchdog never saw it blocked. */
export function blockedMsOf(trace: ActiveTrace): number | undefined {
  const time = blocked.get(trace);
  if (time === undefined) return undefined;
  const open = Number.isNaN(time.openSince) ? 0 : performance.now() - time.openSince;
  return Math.round((time.total + open) * 100) / 100;
}
