import { Inject, Injectable, Optional } from '@nestjs/common';
import type { OnApplicationBootstrap, OnModuleDestroy } from '@nestjs/common';
import { performance } from 'node:perf_hooks';
import { Worker } from 'node:worker_threads';
import type { TraceFrame } from '../context/trace-storage.js';
import { traceStorage } from '../context/trace-storage.js';
import { ReportOutput } from '../output/report-output.js';
import { CpuProfiler } from '../profile/cpu-profiler.js';
import { FailureLog } from '../report/failure-log.js';
import type { MetricsSource } from '../report/trace-reporter.js';
import type { ResolvedTraceOptions } from '../resolve-options.js';
import { TRACE_METRICS_SOURCE, TRACE_OPTIONS } from '../trace.tokens.js';
import type { SystemMetrics } from '../trace.types.js';
import type { BlockFacts, RawFrame } from './blocked-record.builder.js';
import { buildBlockedRecord } from './blocked-record.builder.js';
import { GcPauses } from './gc-pauses.js';
import { blockEnded, blockStarted } from './trace-blocked-time.js';
import { mainThreadStack } from './main-thread-stack.js';
import { SourceMappedStack } from './source-mapped-stack.js';
import { SLOT, SLOTS, STALL_HOOK_KEY, WATCHDOG_WORKER_SOURCE } from './watchdog-worker.source.js';

/**
 * Heartbeats per threshold (every 50 ms at 200 ms): a block is measured to within half a beat. More beats measure more
 * finely but cost more while idle (each is a wake-up of both threads; see docs/stalls.md).
 */
const BEATS_PER_THRESHOLD = 4;

interface Captured {
  beat: number;
  frames: RawFrame[];
  frame: TraceFrame | undefined;
}

/** Called by the worker's `Runtime.evaluate`, in an interrupt on top of the code that blocks the loop. */
interface StallHook {
  caught: (beat: number) => boolean;
}

/** Frames of the expression the worker evaluates, between the hook and the blocked code. */
const EVALUATED_EXPRESSION_FRAMES = 1;

/**
 * The hooks of every watchdog in the process (one per app), by id; kept where the worker's expression finds it from the
 * main realm (see `STALL_REGISTRY_EXPRESSION`).
 */
function hookRegistry(): Map<number, StallHook> {
  const holder = (
    typeof process.getBuiltinModule === 'function' ? process.getBuiltinModule('node:worker_threads') : globalThis
  ) as { [key: symbol]: Map<number, StallHook> | undefined };
  const key = Symbol.for(STALL_HOOK_KEY);
  let registry = holder[key];
  if (registry === undefined) {
    registry = new Map();
    Object.defineProperty(holder, key, { value: registry, configurable: true, enumerable: false, writable: false });
  }
  return registry;
}

let nextHookId = 1;

/**
 * Watches the main thread's event loop from a worker thread and reports every block of `blockedThresholdMs` or more
 * as a `{"type":"blocked"}` record, with the JavaScript stack read while the loop was still stuck.
 *
 * The main thread only bumps a shared counter from an unref'd timer; the worker (see `watchdog-worker.source.ts`)
 * notices when it stops moving and has the main thread call this watchdog's hook through the inspector, in an
 * interrupt on top of the blocking code: the hook reads the stack and the current trace (one AsyncLocalStorage read,
 * only then). The next heartbeat measures the block and writes the report, off the request path.
 */
@Injectable()
export class StallWatchdog implements OnApplicationBootstrap, OnModuleDestroy {
  private worker: Worker | undefined;
  private shared: Int32Array | undefined;
  private beatTimer: NodeJS.Timeout | undefined;
  private gc: GcPauses | undefined;
  private beat = 0;
  private beatMs = 0;
  private lastBeatAt = 0;
  private lastBeatEpochMs = 0;
  private captured: Captured | undefined;
  private failedOnce = false;
  /** Set while a heartbeat runs: a pause that lands then came too late, the loop has already turned. */
  private inBeat = false;
  private stopping = false;
  private readonly writing = new Set<Promise<void>>();
  private readonly sourceMaps = new SourceMappedStack();
  private readonly onExit = (): void => this.halt();
  private readonly hookId = nextHookId++;
  /** What the worker's expression calls; also where the stack the hook reads is cut (see `caught`). */
  private readonly hookCall = (beat: number): boolean => this.caught(beat, this.hookCall);
  private readonly hook: StallHook = { caught: this.hookCall };

  constructor(
    @Inject(TRACE_OPTIONS) private readonly options: ResolvedTraceOptions,
    @Inject(TRACE_METRICS_SOURCE) private readonly metrics: MetricsSource,
    @Inject(ReportOutput) private readonly output: ReportOutput,
    @Inject(FailureLog) private readonly failures: FailureLog,
    @Optional() @Inject(CpuProfiler) private readonly profiler?: CpuProfiler,
  ) {}

  /** True while the worker runs (for tests and the docs' measurements). */
  get running(): boolean {
    return this.worker !== undefined;
  }

  async onApplicationBootstrap(): Promise<void> {
    const threshold = this.options.blockedThresholdMs;
    if (threshold === false) return;
    // After the profiler's warm-up (`CpuProfiler#ready`), whose own block of the loop is not the app's.
    await this.profiler?.ready();
    try {
      this.start(threshold);
    } catch (error) {
      this.failed('start', error);
      this.halt();
    }
  }

  async onModuleDestroy(): Promise<void> {
    const worker = this.worker;
    this.halt(false);
    if (worker !== undefined) await stopWorker(worker);
    if (this.writing.size > 0) await Promise.allSettled([...this.writing]);
  }

  private start(threshold: number): void {
    const beatMs = Math.max(5, Math.min(100, threshold / BEATS_PER_THRESHOLD));
    this.beatMs = beatMs;
    const shared = new Int32Array(new SharedArrayBuffer(SLOTS * Int32Array.BYTES_PER_ELEMENT));
    Atomics.store(shared, SLOT.SEEN, -1);
    this.shared = shared;
    this.gc = new GcPauses();
    hookRegistry().set(this.hookId, this.hook);

    const worker = new Worker(WATCHDOG_WORKER_SOURCE, {
      eval: true,
      workerData: { buffer: shared.buffer, thresholdMs: threshold, pollMs: beatMs, hookId: this.hookId },
      // The worker needs none of the app's flags (--inspect would give it a port of its own) nor its stdin.
      execArgv: [],
      stdin: false,
    });
    worker.on('message', (message: { type: string; where?: string; message?: string }) => {
      if (message.type === 'failed') this.failed(`worker (${message.where ?? '?'})`, message.message);
    });
    worker.on('error', (error) => {
      this.failed('worker', error);
      this.halt();
    });
    worker.on('exit', (code) => {
      this.worker = undefined;
      if (this.stopping) return;
      this.failed('worker', `exited with code ${code}`);
      this.halt();
    });
    // After the listeners: adding a 'message' listener refs the worker's port again, and the app would never exit.
    worker.unref();
    this.worker = worker;
    // Never reach into a main thread that is exiting.
    process.prependListener('exit', this.onExit);

    this.lastBeatAt = performance.now();
    this.lastBeatEpochMs = Date.now();
    traceStorage.exit(() => {
      this.beatTimer = setInterval(() => this.onBeat(), beatMs);
    });
    this.beatTimer?.unref();
  }

  private onBeat(): void {
    const shared = this.shared;
    if (shared === undefined) return;
    const now = performance.now();
    const beat = this.beat;
    this.inBeat = true;
    if (Atomics.load(shared, SLOT.SEEN) === beat) this.blockEnded(now);
    this.inBeat = false;
    this.lastBeatAt = now;
    this.lastBeatEpochMs = Date.now();
    this.beat = (beat + 1) | 0;
    Atomics.store(shared, SLOT.BEAT, this.beat);
  }

  /**
   * Runs on the main thread in an interrupt on top of the blocking code (see the class comment): reads its stack and
   * trace, nothing more. `hook` is the function the worker's expression called, the stack's cut-off point.
   */
  private caught(beat: number, hook: (beat: number) => boolean): boolean {
    if (beat !== this.beat || this.captured !== undefined || this.inBeat) return false;
    const frames = mainThreadStack(hook, EVALUATED_EXPRESSION_FRAMES);
    // Evaluated once the loop was idle again (a block that ended in native code): no blocked code under us.
    if (frames.length === 0) return false;
    const frame = traceStorage.getStore();
    this.captured = { beat, frames, frame };
    if (frame !== undefined) blockStarted(frame.trace, this.lastBeatAt);
    return true;
  }

  private blockEnded(now: number): void {
    const captured = this.captured?.beat === this.beat ? this.captured : undefined;
    this.captured = undefined;
    // The block started somewhere within the beat after the last one: count half of it.
    const blockedMs = now - this.lastBeatAt - this.beatMs / 2;
    if (captured?.frame !== undefined) blockEnded(captured.frame.trace, blockedMs);
    const facts: BlockFacts = {
      blockedMs,
      startedAtEpochMs: this.lastBeatEpochMs,
      frames: captured?.frames,
      stackUnavailable:
        captured !== undefined
          ? undefined
          : 'the loop turned again before the stack could be read (a block in native code, e.g. compiling or sync I/O, cannot be interrupted)',
      frame: captured?.frame,
      gc: [],
      profile: this.profiler?.afterBlock(captured?.frame?.trace, this.lastBeatEpochMs),
    };
    const written = this.write(facts, this.lastBeatAt, now).catch((error: unknown) => this.failed('report', error));
    this.writing.add(written);
    void written.finally(() => this.writing.delete(written));
  }

  private async write(facts: BlockFacts, start: number, end: number): Promise<void> {
    let metrics: SystemMetrics | undefined;
    try {
      metrics = await this.metrics.snapshot();
    } catch (error) {
      this.failed('metrics snapshot', error);
    }
    // Node creates a GC pause's performance entry from a setImmediate after the pause: the ones of the block exist
    // only once the loop has passed its check phase.
    await new Promise<void>((resolve) => setImmediate(resolve));
    facts.gc = this.gc?.overlapping(start, end) ?? [];
    const record = buildBlockedRecord(facts, metrics, await facts.profile);
    record.stack = await this.sourceMaps.map(record.stack);
    this.output.write(record);
  }

  /**
   * Stops beating and tells the worker never to reach into the main thread again; safe to call more than once. `terminate`: end the worker
   * now (the process is exiting, or the worker failed) rather than let it stop cleanly.
   */
  private halt(terminate = true): void {
    this.stopping = true;
    if (this.shared !== undefined) Atomics.store(this.shared, SLOT.STOP, 1);
    if (this.beatTimer !== undefined) clearInterval(this.beatTimer);
    this.beatTimer = undefined;
    this.gc?.stop();
    this.gc = undefined;
    process.removeListener('exit', this.onExit);
    const registry = hookRegistry();
    if (registry.get(this.hookId) === this.hook) registry.delete(this.hookId);
    const worker = this.worker;
    this.worker = undefined;
    if (worker !== undefined && terminate) void worker.terminate().catch(() => undefined);
  }

  /** A failure of the watchdog is logged once; the app never sees it. */
  private failed(where: string, error: unknown): void {
    if (this.failedOnce) return;
    this.failedOnce = true;
    this.failures.failed(`stall watchdog ${where}`, error);
  }
}

/** How long a clean stop of the worker may take before it is terminated. */
const STOP_TIMEOUT_MS = 1000;

/** Asks the worker to disconnect from the inspector and end, and terminates it if it has not within a second. */
async function stopWorker(worker: Worker): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const exited = new Promise<boolean>((resolve) => {
    worker.once('exit', () => resolve(true));
    timer = setTimeout(() => resolve(false), STOP_TIMEOUT_MS);
  });
  // Held while `app.close()` waits for it: with nothing else alive, an unref'd worker would let the process end mid-close.
  worker.ref();
  try {
    worker.postMessage('stop');
  } catch {
    // Already gone.
  }
  const clean = await exited;
  clearTimeout(timer);
  if (!clean) await worker.terminate().catch(() => undefined);
}
