import { Inject, Injectable, Optional } from '@nestjs/common';
import type { OnApplicationBootstrap, OnApplicationShutdown, OnModuleDestroy } from '@nestjs/common';
import { performance } from 'node:perf_hooks';
import type { ActiveTrace, TraceSink } from '../context/active-trace.js';
import { traceStorage } from '../context/trace-storage.js';
import type { ResolvedTraceOptions } from '../resolve-options.js';
import { ReportOutput } from '../output/report-output.js';
import { CpuProfiler } from '../profile/cpu-profiler.js';
import { TRACE_LISTENERS, TRACE_METRICS_SOURCE, TRACE_OPTIONS } from '../trace.tokens.js';
import type { ProfileRecord, SystemMetrics, TraceOutcome, TraceRecord } from '../trace.types.js';
import { FailureLog } from './failure-log.js';
import { overrunMs } from './overrun.js';
import type { FinishedOutcome, TraceListener } from './trace-listener.js';
import { FindingReports } from './repeated-statements.js';
import { RunningTraces } from './running-traces.js';
import { buildTraceRecord } from './trace-record.builder.js';

/** Where reports take their machine snapshot from. */
export interface MetricsSource {
  snapshot(): Promise<SystemMetrics>;
}

/** What a shutdown flush waits beyond `metricsTimeoutMs` (the bound of each snapshot): the writes themselves. */
const FLUSH_GRACE_MS = 100;

/**
 * Decides which finished traces are reported (error, slow, or all with `logAll`), watches running ones for
 * `hung`, and writes reports after the response: off the request's async context, never throwing into the app.
 */
@Injectable()
export class TraceReporter implements TraceSink, OnApplicationBootstrap, OnModuleDestroy, OnApplicationShutdown {
  readonly maxSpans: number;
  private readonly running = new RunningTraces();
  /** Reports queued or being written (snapshot, then output): what a shutdown waits for. */
  private readonly writing = new Set<Promise<void>>();
  private sweeper: NodeJS.Timeout | undefined;
  /** Age at which the sweep reports a running trace as hung (Infinity: never). */
  private readonly hungMs: number;
  /** Age at which the sweep starts a CPU profile of a running trace (Infinity: `profile` is off). */
  private readonly profileAfterMs: number;
  /** The active ones among `allListeners`, chosen at bootstrap (an unused listener costs nothing per trace). */
  private listeners: readonly TraceListener[] = [];
  /** Fast traces with N+1 findings: reported at most once per handler per minute. */
  private readonly findingReports: FindingReports;

  constructor(
    @Inject(TRACE_OPTIONS) private readonly options: ResolvedTraceOptions,
    @Inject(TRACE_METRICS_SOURCE) private readonly metrics: MetricsSource,
    @Inject(ReportOutput) private readonly output: ReportOutput,
    @Inject(FailureLog) private readonly failures: FailureLog,
    @Inject(TRACE_LISTENERS) private readonly allListeners: readonly TraceListener[],
    @Optional() @Inject(CpuProfiler) private readonly profiler?: CpuProfiler,
  ) {
    this.maxSpans = options.maxSpans;
    this.findingReports = new FindingReports(options);
    // The sweep finds hung traces and, with `profile` on, traces running past slowThresholdMs (a timer, never a
    // check per call); it runs four times per threshold, so a trace is found within a quarter of it.
    this.hungMs = options.hungThresholdMs > 0 ? options.hungThresholdMs : Number.POSITIVE_INFINITY;
    this.profileAfterMs = profiler?.active ? options.slowThresholdMs : Number.POSITIVE_INFINITY;
    const threshold = Math.min(this.hungMs, this.profileAfterMs);
    if (threshold < Number.POSITIVE_INFINITY) {
      const every = Math.max(10, Math.min(1000, threshold / 4));
      this.sweeper = setInterval(() => this.sweep(), every);
      this.sweeper.unref();
    }
  }

  onApplicationBootstrap(): void {
    // Listeners load their optional package in `onModuleInit`, which has run for every provider by now.
    this.listeners = this.allListeners.filter((listener) => listener.active);
  }

  opened(context: ActiveTrace): void {
    if (this.sweeper !== undefined) this.running.add(context);
    for (const listener of this.listeners) {
      if (!listener.opened) continue;
      try {
        listener.opened(context);
      } catch (error) {
        this.failed('trace listener', error);
      }
    }
  }

  discarded(context: ActiveTrace): void {
    this.running.delete(context);
  }

  finished(context: ActiveTrace): void {
    this.running.delete(context);
    const outcome = this.outcomeOf(context);
    for (const listener of this.listeners) {
      try {
        listener.finished(context, outcome);
      } catch (error) {
        this.failed('trace listener', error);
      }
    }
    if (outcome !== 'ok' || this.options.logAll || this.findingReports.shouldReport(context)) {
      this.report(context, outcome);
    }
  }

  /**
   * `app.close()`: writes the reports still queued, at most `metricsTimeoutMs` (+100 ms) later. This is the first
   * shutdown phase, so their snapshots still see the app's connections (TypeORM and most Redis modules close them in
   * `onApplicationShutdown`), and the metrics probes stop only in that last phase (see SystemMetricsService).
   */
  async onModuleDestroy(): Promise<void> {
    // A report waiting for its trace's profile gets what was recorded so far rather than wait out `durationMs`.
    this.profiler?.finishNow();
    if (this.sweeper !== undefined) clearInterval(this.sweeper);
    this.sweeper = undefined;
    this.running.clear();
    await this.flush();
  }

  /** Reports of requests that finished while the HTTP server closed (after `onModuleDestroy`). */
  async onApplicationShutdown(): Promise<void> {
    await this.flush();
  }

  /** Waits until the reports queued now are written, or `metricsTimeoutMs` (+100 ms) passed; never rejects. */
  async flush(): Promise<void> {
    if (this.writing.size === 0) return;
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, this.options.metricsTimeoutMs + FLUSH_GRACE_MS);
    });
    await Promise.race([Promise.allSettled([...this.writing]), deadline]);
    clearTimeout(timer);
  }

  private outcomeOf(context: ActiveTrace): FinishedOutcome {
    const root = context.extras?.get(0);
    if (root?.errored && !this.isIgnored(root.error)) return 'error';
    if (overrunMs(context) !== undefined) return 'slow';
    return context.spanEnd(0) - context.startTime >= this.options.slowThresholdMs ? 'slow' : 'ok';
  }

  private isIgnored(error: unknown): boolean {
    const ignore = this.options.ignoreErrors;
    if (ignore === undefined) return false;
    try {
      return ignore(error) === true;
    } catch (failure) {
      this.failed('ignoreErrors', failure);
      return false;
    }
  }

  private sweep(): void {
    const now = performance.now();
    this.running.forEach((context) => {
      const elapsed = now - context.startTime;
      // Before the hung report, which then waits for this profile.
      if (elapsed >= this.profileAfterMs) this.profiler?.slow(context);
      if (elapsed < this.hungMs) return;
      // Reported once: a trace leaves the running list when its hung report is written (or when it ends).
      this.running.delete(context);
      this.report(context, 'hung');
    });
  }

  private report(context: ActiveTrace, outcome: TraceOutcome): void {
    // A hung trace is still running: its tree is taken now, when the sweep found it stuck. Later (after the tick, or
    // after the snapshot) its handler may have finished, e.g. when a blocked loop fires the sweep and the handler's
    // own timer in the same turn.
    const hung = outcome === 'hung' ? buildTraceRecord(context, outcome, undefined, this.options) : undefined;
    // Out of the request's async context, so the snapshot's own queries are not recorded as its spans,
    // and after the current tick, so the response goes out first.
    traceStorage.exit(() => {
      const written: Promise<void> = new Promise<void>((resolve) => {
        setImmediate(() => {
          this.write(context, outcome, hung)
            .catch((error: unknown) => this.failed('report', error))
            .finally(() => {
              this.writing.delete(written);
              resolve();
            });
        });
      });
      this.writing.add(written);
    });
  }

  private async write(context: ActiveTrace, outcome: TraceOutcome, hung: TraceRecord | undefined): Promise<void> {
    // The trace's CPU profile, if one is recording or was recorded: the report waits for it (bounded by the
    // profile's duration + PROFILE_MARGIN_MS, never rejects), the snapshot is taken meanwhile.
    const profiled = this.profiler?.profileOf(context);
    let metrics: SystemMetrics | undefined;
    if (outcome !== 'ok') {
      try {
        metrics = await this.metrics.snapshot();
      } catch (error) {
        this.failed('metrics snapshot', error);
      }
    }
    const profile: ProfileRecord | undefined = await profiled;
    const record = hung ?? buildTraceRecord(context, outcome, metrics, this.options);
    if (hung !== undefined && metrics) hung.metrics = metrics;
    if (profile !== undefined) record.profile = profile;
    this.output.write(record);
  }

  /** Logs a failure of the library itself, at most once per minute per place. */
  failed(where: string, error: unknown): void {
    this.failures.failed(where, error);
  }
}
