import { Inject, Injectable } from '@nestjs/common';
import type { OnApplicationBootstrap, OnModuleDestroy } from '@nestjs/common';
import { performance } from 'node:perf_hooks';
import type { ActiveTrace } from '../context/active-trace.js';
import { FailureLog } from '../report/failure-log.js';
import type { ResolvedProfileOptions, ResolvedTraceOptions } from '../resolve-options.js';
import { TRACE_OPTIONS } from '../trace.tokens.js';
import type { ProfileRecord } from '../trace.types.js';
import type { CpuProfile } from './cpu-profile.types.js';
import { ProfileBudget } from './profile-budget.js';
import { profilePath, writeProfile } from './profile-file.js';
import { topFunctions } from './profile-top.js';
import { ProfilerSession } from './profiler-session.js';

/**
 * How long after a profile's planned end (counted from the moment V8 started recording) a report still waits for it:
 * stopping, summing and writing take tens of ms; past this margin (a stuck disk, a machine overloaded for seconds) the
 * report goes out without `profile`.
 */
export const PROFILE_MARGIN_MS = 2000;

const round = (ms: number): number => Math.round(ms * 100) / 100;

/** `EACCES: permission denied, mkdir '/var/profiles'`: Node's own text, which names the code and the path. */
function messageOf(error: unknown): string {
  const message = (error as { message?: unknown } | null)?.message;
  return typeof message === 'string' ? message : String(error);
}

/** One profile being recorded (at most one at a time). */
interface Recording {
  /** performance.now() once V8 has started recording (or failed to): the report's wait is counted from there. */
  readonly started: Promise<number>;
  /** Ends the recording now instead of after `durationMs` (the app is closing). */
  readonly finish: () => void;
  /** The report's `profile` once the file is written; `undefined` when the recording failed. */
  readonly result: Promise<ProfileRecord | undefined>;
}

/**
 * CPU profiles taken at the moment of slowness (option `profile`). The reporter's sweep offers it every running trace
 * past `slowThresholdMs` ({@link slow}); the blocked-loop watchdog asks for one when a block ended ({@link afterBlock}).
 * It records with V8's sampling profiler through the library's own inspector session, never two at once and at most
 * `maxPerHour`, writes `<dir>/<traceId>.cpuprofile` and hands the reports `{ file, top }`. Nothing here runs per
 * call: only the sweep (a timer) and the end of a block start a profile. Its own failures are logged once per place
 * and never reach the app.
 */
@Injectable()
export class CpuProfiler implements OnApplicationBootstrap, OnModuleDestroy {
  /** Whether the option is on (the reporter then sweeps for slow traces too). */
  readonly active: boolean;
  private readonly settings: ResolvedProfileOptions | undefined;
  private readonly budget: ProfileBudget | undefined;
  private session: ProfilerSession | undefined;
  private recording: Recording | undefined;
  /** The recording of each trace that got one; weak, so a trace's entry goes with the trace. */
  private readonly byTrace = new WeakMap<ActiveTrace, Recording>();
  private readonly failedPlaces = new Set<string>();
  private closed = false;
  /** Date.now() when the last recording asked V8 to start (see {@link afterBlock}). */
  private lastStartEpochMs = Number.NEGATIVE_INFINITY;
  private readying: Promise<void> | undefined;

  constructor(
    @Inject(TRACE_OPTIONS) options: ResolvedTraceOptions,
    @Inject(FailureLog) private readonly failures: FailureLog,
  ) {
    this.settings = options.profile === false ? undefined : options.profile;
    this.active = this.settings !== undefined;
    this.budget = this.settings && new ProfileBudget(this.settings.maxPerHour);
  }

  /** True while a profile records (for tests and the docs' measurements). */
  get busy(): boolean {
    return this.recording !== undefined;
  }

  onApplicationBootstrap(): Promise<void> {
    return this.ready();
  }

  /**
   * Connects the session and warms it up, once (later calls get the same promise). The blocked-loop watchdog waits
   * for it before it starts: the warm-up's `Profiler.start` holds the main thread 36-177 ms (V8 lists every compiled
   * function; `node scripts/profile-cost.mjs`), which would otherwise be reported as a blocked loop at start-up.
   */
  ready(): Promise<void> {
    return (this.readying ??= this.connect());
  }

  private async connect(): Promise<void> {
    if (this.settings === undefined) return;
    const session = new ProfilerSession();
    try {
      await session.connect();
      // One empty profile now, while the app starts: a profiler that cannot start fails here, logged once at
      // start-up rather than in the middle of the first slow request, and V8's one-time work for a first profile is
      // done while nothing waits for it.
      this.lastStartEpochMs = Date.now();
      await session.start();
      await session.stop();
      this.session = session;
    } catch (error) {
      session.disconnect();
      this.failed('connect', error);
    }
  }

  /** Ends a recording early (its reports get what was recorded so far), then closes the session. */
  async onModuleDestroy(): Promise<void> {
    this.closed = true;
    const recording = this.recording;
    if (recording !== undefined) {
      recording.finish();
      await this.bounded(recording);
    }
    this.session?.disconnect();
    this.session = undefined;
  }

  /** Ends the current recording now (`app.close()`: reports waiting for it should not wait out `durationMs`). */
  finishNow(): void {
    this.recording?.finish();
  }

  /**
   * The reporter's sweep found `trace` running past `slowThresholdMs`: profile it, unless a profile is recording (the
   * sweep offers it again while it runs, so it may get one later) or this hour's budget is spent.
   */
  slow(trace: ActiveTrace): void {
    if (this.recording !== undefined || this.byTrace.has(trace)) return;
    const recording = this.begin(trace, Date.now());
    if (recording !== undefined) this.byTrace.set(trace, recording);
  }

  /**
   * A block of the event loop ended (`trace`: the one it blocked, if any). The main thread could not start a profile
   * while blocked, so one starts now: the blocked trace's own if it has one already (the sweep found it slow, or an
   * earlier block); else, if that trace is still running, a new profile of it (its own report gets it too); else a
   * `blocked-<time>` profile. `undefined` when none is taken (one is recording, the budget is spent, or the block
   * may have been the start of our own last profile).
   */
  afterBlock(trace: ActiveTrace | undefined, blockedAtEpochMs: number): Promise<ProfileRecord | undefined> | undefined {
    if (this.settings === undefined) return undefined;
    // Starting a profile holds the main thread for tens of ms or more: a block that began before the last start is
    // (or may be) that start, and profiling it would start the next one.
    if (this.lastStartEpochMs >= blockedAtEpochMs) return undefined;
    // A trace profiled already (the sweep found it slow, or an earlier block) shares it, even if it just ended.
    const existing = trace && this.byTrace.get(trace);
    if (existing !== undefined) return this.bounded(existing);
    const running = trace !== undefined && !trace.closed ? trace : undefined;
    const recording = this.begin(running, blockedAtEpochMs);
    if (recording === undefined) return undefined;
    if (running !== undefined) this.byTrace.set(running, recording);
    return this.bounded(recording);
  }

  /** The profile of `trace` if it has one, for its report: see {@link bounded}. */
  profileOf(trace: ActiveTrace): Promise<ProfileRecord | undefined> | undefined {
    const recording = this.byTrace.get(trace);
    return recording && this.bounded(recording);
  }

  private begin(trace: ActiveTrace | undefined, blockedAtEpochMs: number): Recording | undefined {
    const settings = this.settings;
    const session = this.session;
    if (settings === undefined || session === undefined || this.closed || this.recording !== undefined)
      return undefined;
    if (!this.budget?.take()) return undefined;
    let finish = (): void => undefined;
    const ended = new Promise<void>((resolve) => {
      finish = resolve;
    });
    let markStarted = (_at: number): void => undefined;
    const started = new Promise<number>((resolve) => {
      markStarted = resolve;
    });
    const path = profilePath(settings.dir, trace?.traceId, blockedAtEpochMs);
    const recording: Recording = {
      started,
      finish,
      result: this.record(session, settings, ended, finish, markStarted, path),
    };
    // `record` does not settle before its first await, so this is set before the recording can clear it.
    this.recording = recording;
    return recording;
  }

  private async record(
    session: ProfilerSession,
    settings: ResolvedProfileOptions,
    ended: Promise<void>,
    finish: () => void,
    markStarted: (at: number) => void,
    file: string,
  ): Promise<ProfileRecord | undefined> {
    let profile: CpuProfile | undefined;
    let timer: NodeJS.Timeout | undefined;
    const startedAtEpochMs = Date.now();
    this.lastStartEpochMs = startedAtEpochMs;
    try {
      try {
        await session.start();
      } finally {
        markStarted(performance.now());
      }
      // Counted from here: starting holds the main thread while V8 lists the code it has compiled (docs/stalls.md).
      timer = setTimeout(finish, settings.durationMs);
      timer.unref();
      await ended;
      profile = await session.stop();
    } catch (error) {
      // E.g. V8 refused to start (another profiler?) or the session closed; the app never sees it.
      this.failed('record', error);
    } finally {
      clearTimeout(timer);
      this.recording = undefined;
    }
    if (profile === undefined) return undefined;
    const record: ProfileRecord = {
      file,
      startedAt: new Date(startedAtEpochMs).toISOString(),
      durationMs: round((profile.endTime - profile.startTime) / 1000),
      top: topFunctions(profile),
    };
    try {
      await writeProfile(file, settings.dir, profile);
    } catch (error) {
      this.failed('write', error);
      record.error = `not written: ${messageOf(error)}`;
    }
    return record;
  }

  /**
   * The recording's result, but at the latest {@link PROFILE_MARGIN_MS} after its planned end, counted from the moment
   * V8 started recording (then `undefined`), so a report never waits on a stuck write for long. Never rejects.
   */
  private async bounded(recording: Recording): Promise<ProfileRecord | undefined> {
    const settings = this.settings;
    if (settings === undefined) return undefined;
    const startedAt = await recording.started;
    const left = startedAt + settings.durationMs + PROFILE_MARGIN_MS - performance.now();
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<undefined>((resolve) => {
      timer = setTimeout(() => resolve(undefined), Math.max(0, left));
      timer.unref();
    });
    return Promise.race([recording.result.catch(() => undefined), late]).finally(() => clearTimeout(timer));
  }

  /** Logged once per place (connect, record, write): a failing profiler must not fill the app's log. */
  private failed(where: string, error: unknown): void {
    if (this.failedPlaces.has(where)) return;
    this.failedPlaces.add(where);
    this.failures.failed(`cpu profile (${where})`, error);
  }
}
