import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import type { EventLoopUtilization, IntervalHistogram } from 'node:perf_hooks';
import type { EventLoopMetrics, ProbeError } from '../trace.types.js';
import { probeError } from './probe-error.js';
import { round1, round2 } from './units.js';

/**
 * Sampling period of the delay monitors, ms. Each recorded value is the time between two timer ticks, i.e. this
 * resolution plus the delay; the resolution is subtracted again when reporting. 20 ms keeps a window small enough
 * (25–50 samples) that one 200 ms stall shows in its p99.
 */
const RESOLUTION_MS = 20;
const NS_PER_MS = 1e6;

interface Monitor {
  histogram: IntervalHistogram;
  resetAt: number;
  elu: EventLoopUtilization;
}

/**
 * Event-loop delay (`perf_hooks.monitorEventLoopDelay`, p50 / p99 / max) and utilization
 * (`performance.eventLoopUtilization()` delta) over the last `windowMs / 2` to `windowMs`.
 *
 * Two delay monitors are reset in turn every `windowMs / 2`; `read()` uses the one reset longer ago, so the window
 * always holds between half and one full window of history.
 */
export class EventLoopProbe {
  private readonly monitors: [Monitor, Monitor];
  private timer: NodeJS.Timeout | undefined;
  private next = 0;

  constructor(private readonly windowMs = 1000) {
    this.monitors = [this.monitor(), this.monitor()];
  }

  start(): void {
    if (this.timer) return;
    for (const monitor of this.monitors) monitor.histogram.enable();
    this.timer = setInterval(() => this.rotate(), this.windowMs / 2);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
    for (const monitor of this.monitors) monitor.histogram.disable();
  }

  /**
   * Waits one resolution first, so that a stall that ended just now has been recorded: right after a stall the loop
   * clock is stale, and a shorter timer would fire before the monitors' own timers.
   */
  async read(): Promise<EventLoopMetrics | ProbeError> {
    await new Promise((resolve) => setTimeout(resolve, RESOLUTION_MS + 1));
    const [a, b] = this.monitors;
    const monitor = a.resetAt <= b.resetAt ? a : b;
    const { histogram } = monitor;
    if (histogram.count === 0) return probeError('unavailable', 'no event-loop samples yet');
    const delay = (ns: number): number => round1(Math.max(ns / NS_PER_MS - RESOLUTION_MS, 0));
    return {
      delayP99Ms: delay(histogram.percentile(99)),
      utilization: round2(performance.eventLoopUtilization(monitor.elu).utilization),
      delayP50Ms: delay(histogram.percentile(50)),
      delayMaxMs: delay(histogram.max),
      delayMeanMs: delay(histogram.mean),
      resolutionMs: RESOLUTION_MS,
      windowMs: Math.round(performance.now() - monitor.resetAt),
    };
  }

  private monitor(): Monitor {
    return {
      histogram: monitorEventLoopDelay({ resolution: RESOLUTION_MS }),
      resetAt: performance.now(),
      elu: performance.eventLoopUtilization(),
    };
  }

  private rotate(): void {
    const monitor = this.monitors[this.next] as Monitor;
    this.next = 1 - this.next;
    monitor.histogram.reset();
    monitor.resetAt = performance.now();
    monitor.elu = performance.eventLoopUtilization();
  }
}
