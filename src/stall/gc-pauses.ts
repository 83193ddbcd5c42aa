import { constants, PerformanceObserver } from 'node:perf_hooks';
import type { PerformanceEntry } from 'node:perf_hooks';
import type { GcPause } from '../trace.types.js';

/** GC pauses kept to match against a block: a block rarely spans more than a few. */
const KEPT = 64;

const KINDS: Record<number, GcPause['kind']> = {
  [constants.NODE_PERFORMANCE_GC_MAJOR]: 'mark-compact',
  [constants.NODE_PERFORMANCE_GC_MINOR]: 'minor',
  [constants.NODE_PERFORMANCE_GC_INCREMENTAL]: 'incremental',
  [constants.NODE_PERFORMANCE_GC_WEAKCB]: 'weak-callbacks',
};

const round = (ms: number): number => Math.round(ms * 100) / 100;

/**
 * The recent GC pauses of the main thread (a `PerformanceObserver` on `gc`), so a blocked-loop report can say "it was
 * GC". The observer's callback runs on a later tick, so `overlapping` first takes the entries still queued.
 */
export class GcPauses {
  private readonly entries: PerformanceEntry[] = [];
  private readonly observer = new PerformanceObserver((list) => this.keep(list.getEntries()));

  constructor() {
    this.observer.observe({ entryTypes: ['gc'] });
  }

  /** Pauses that overlapped `[start, end]` (`performance.now()` times). */
  overlapping(start: number, end: number): GcPause[] {
    this.keep(this.observer.takeRecords());
    return this.entries
      .filter((entry) => entry.startTime < end && entry.startTime + entry.duration > start)
      .map((entry) => ({ kind: kindOf(entry), durationMs: round(entry.duration) }));
  }

  stop(): void {
    this.observer.disconnect();
  }

  private keep(entries: readonly PerformanceEntry[]): void {
    this.entries.push(...entries);
    if (this.entries.length > KEPT) this.entries.splice(0, this.entries.length - KEPT);
  }
}

function kindOf(entry: PerformanceEntry): GcPause['kind'] {
  const detail = (entry as PerformanceEntry & { detail?: { kind?: number } }).detail;
  return KINDS[detail?.kind ?? -1] ?? 'unknown';
}
