import { AsyncResource } from 'node:async_hooks';
import { constants, PerformanceObserver } from 'node:perf_hooks';
import v8 from 'node:v8';
import { Inject, Injectable } from '@nestjs/common';
import type { OnModuleDestroy, OnModuleInit } from '@nestjs/common';
import type { ResolvedTraceOptions } from '../resolve-options.js';
import { MESSAGES } from '../trace.messages.js';
import { TRACE_OPTIONS } from '../trace.tokens.js';
import { round1, toMB } from './units.js';

/** A rise smaller than this over the whole streak is noise, not a leak. */
const MIN_GROWTH_BYTES = 1024 * 1024;

/** What one check saw; returned by {@link MemoryMonitorService.check}. */
export interface MemoryCheckResult {
  heapUsedMB: number;
  heapLimitMB: number;
  /** Heap in use in percent of V8's `heap_size_limit`. */
  heapLimitPercent: number;
  /** Lowest heap use right after a major GC since the previous check; `null` when no major GC ran in between. */
  afterGcMB: number | null;
  /** Consecutive checks whose after-GC heap was higher than the one before. */
  risingSamples: number;
  /** Warnings written by this check. */
  warnings: string[];
}

/**
 * The memory-leak monitor (`memoryMonitor` option; off unless given). Every `intervalMs` it warns through the
 * options' logger, with the numbers, when
 *
 * - heap use reaches `heapLimitPercent` of V8's `heap_size_limit` (not of `heapTotal`, which V8 grows on demand, so
 *   `heapUsed / heapTotal` sits near 1 in healthy processes); once per crossing;
 * - heap use right after a major GC (a `PerformanceObserver` on `gc` entries reads it) rose `growthSamples` checks in
 *   a row, by at least 1 MB overall. A check with no major GC since the previous one adds no sample.
 *
 * The timer is `unref()`ed and, with the GC observer, stopped on shutdown.
 */
@Injectable()
export class MemoryMonitorService implements OnModuleInit, OnModuleDestroy {
  private timer: NodeJS.Timeout | undefined;
  private observer: PerformanceObserver | undefined;
  /** Lowest post-major-GC heap use since the last check, bytes. */
  private afterGc: number | null = null;
  /** Post-GC heap use of the current rising streak, oldest first, bytes. */
  private streak: number[] = [];
  private aboveLimit = false;

  constructor(@Inject(TRACE_OPTIONS) private readonly options: ResolvedTraceOptions) {}

  onModuleInit(): void {
    const settings = this.options.memoryMonitor;
    if (!settings) return;
    // Created in a bootstrap-time scope so neither the timer nor the observer ever holds a request's context.
    new AsyncResource('nestjs-trace.memory-monitor').runInAsyncScope(() => {
      this.observer = new PerformanceObserver((list) => {
        for (const entry of list.getEntries()) {
          const detail = (entry as { detail?: { kind?: number } | null }).detail;
          if (detail?.kind === constants.NODE_PERFORMANCE_GC_MAJOR) this.recordAfterGc();
        }
      });
      this.observer.observe({ entryTypes: ['gc'] });
      this.timer = setInterval(() => this.check(), settings.intervalMs);
      this.timer.unref();
    });
  }

  onModuleDestroy(): void {
    clearInterval(this.timer);
    this.timer = undefined;
    this.observer?.disconnect();
    this.observer = undefined;
  }

  /**
   * One monitoring step (what the timer runs): reads the heap, updates the after-GC trend, warns if needed.
   * Public so that it can be run on demand; the GC observer must be running (module initialized) for the trend.
   */
  check(): MemoryCheckResult {
    const settings = this.options.memoryMonitor || {
      heapLimitPercent: 100,
      growthSamples: Number.POSITIVE_INFINITY,
      intervalMs: 0,
    };
    const heap = v8.getHeapStatistics();
    const percent = (heap.used_heap_size / heap.heap_size_limit) * 100;
    const warnings: string[] = [];

    if (percent >= settings.heapLimitPercent) {
      if (!this.aboveLimit) {
        warnings.push(
          MESSAGES.heapNearLimit(
            toMB(heap.used_heap_size),
            toMB(heap.heap_size_limit),
            round1(percent),
            settings.heapLimitPercent,
          ),
        );
      }
      this.aboveLimit = true;
    } else {
      this.aboveLimit = false;
    }

    const afterGc = this.afterGc;
    this.afterGc = null;
    if (afterGc !== null) {
      const previous = this.streak[this.streak.length - 1];
      this.streak = previous !== undefined && afterGc > previous ? [...this.streak, afterGc] : [afterGc];
      const rises = this.streak.length - 1;
      const first = this.streak[0] as number;
      if (rises >= settings.growthSamples && afterGc - first >= MIN_GROWTH_BYTES) {
        warnings.push(MESSAGES.heapGrowing(rises, toMB(first), toMB(afterGc), settings.intervalMs));
        this.streak = [afterGc];
      }
    }

    for (const warning of warnings) this.options.logger.warn(warning);
    return {
      heapUsedMB: toMB(heap.used_heap_size),
      heapLimitMB: toMB(heap.heap_size_limit),
      heapLimitPercent: round1(percent),
      afterGcMB: afterGc === null ? null : toMB(afterGc),
      risingSamples: this.streak.length - 1,
      warnings,
    };
  }

  private recordAfterGc(): void {
    const used = v8.getHeapStatistics().used_heap_size;
    this.afterGc = this.afterGc === null ? used : Math.min(this.afterGc, used);
  }
}
