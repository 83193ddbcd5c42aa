/** Where a trace came from. `manual` is a root opened with `TraceContext.run`. */
export type TraceTransport = 'http' | 'ws' | 'rpc' | 'manual' | 'cron' | 'event' | 'queue';

/** Why a trace was reported. */
export type TraceOutcome = 'slow' | 'error' | 'hung' | 'ok';

/** A probe that was configured but could not answer: never reported as zeros. */
export interface ProbeError {
  status: 'timeout' | 'unavailable' | 'forbidden' | 'unsupported';
  /** Human-readable reason, e.g. `timeout after 500 ms` or `ECONNREFUSED`. */
  error: string;
}

/** One span of a reported trace, in start order. `spans[0]` is the handler (depth 0). */
export interface SpanRecord {
  name: string;
  depth: number;
  /** Milliseconds since the trace started. */
  startMs: number;
  durationMs: number;
  /** Message of the error this span threw (or rejected / errored with). */
  error?: string;
  /** Notes added with `TraceContext#addLog`. */
  logs?: string[];
  /** `true` when the span was still running when the report was built (hung reports). */
  unfinished?: boolean;
  /** `true` when an Observable span ended because its subscriber unsubscribed. */
  cancelled?: boolean;
  /** Database / cache spans (SQL statements, Redis commands). */
  kind?: 'db';
  system?: 'mysql' | 'redis' | 'postgresql';
  /** Normalized statement: literals replaced by `?`; never parameter values. */
  statement?: string;
  /** Rows affected or returned, where the driver says so. */
  rows?: number;
  /** Number of commands in a Redis pipeline / multi. */
  commands?: number;
  /** Driver error code (e.g. `ER_DUP_ENTRY`, or PostgreSQL's SQLSTATE `23505`). */
  errorCode?: string;
  /** SQL: milliseconds the statement waited in the app's pool queue for a connection (only when it had to wait). */
  poolWaitMs?: number;
}

export interface CpuMetrics {
  /** Process CPU over the recent window, in percent of all cores (0–100). */
  processPercent: number;
  /** Whole-machine CPU over the recent window, in percent of all cores (0–100). */
  systemPercent: number;
  /** 1, 5, 15 minute load averages; always `[0, 0, 0]` on Windows. Extra information only. */
  loadAverage: number[];
  cores: number;
  [extra: string]: unknown;
}

export interface MemoryMetrics {
  system: { totalMB: number; usedMB: number; freeMB: number; usagePercent: number; [extra: string]: unknown };
  process: {
    rssMB: number;
    heapUsedMB: number;
    heapTotalMB: number;
    heapLimitMB: number;
    externalMB: number;
    [extra: string]: unknown;
  };
  [extra: string]: unknown;
}

export interface EventLoopMetrics {
  /** 99th percentile of event-loop delay over the recent window, in ms. */
  delayP99Ms: number;
  /** Event-loop utilization over the recent window (0–1). */
  utilization: number;
  [extra: string]: unknown;
}

export interface MysqlPoolMetrics {
  /** The pool's connection limit. */
  total: number;
  active: number;
  idle: number;
  waiting: number;
  [extra: string]: unknown;
}

export interface MysqlServerMetrics {
  threadsConnected: number;
  threadsRunning: number;
  threadsCached: number;
  [extra: string]: unknown;
}

export interface MysqlMetrics {
  pool: MysqlPoolMetrics | ProbeError | null;
  server: MysqlServerMetrics | ProbeError;
  [extra: string]: unknown;
}

export interface RedisMetrics {
  connectedClients: number;
  usedMemoryMB: number;
  opsPerSec: number;
  /**
   * Commands sent by this app's client that are still waiting for a reply (read in-process);
   * `null` when the installed ioredis version does not expose its queue.
   */
  commandQueueLength: number | null;
  [extra: string]: unknown;
}

/** What `SystemMetricsService.snapshot()` returns; attached to slow, error and hung reports. */
export interface SystemMetrics {
  /** ISO time the snapshot was taken. */
  takenAt: string;
  cpu: CpuMetrics | ProbeError;
  memory: MemoryMetrics | ProbeError;
  eventLoop: EventLoopMetrics | ProbeError;
  /** `null`: no MySQL DataSource in this app. */
  mysql: MysqlMetrics | ProbeError | (ProbeError & Record<string, unknown>) | null;
  /** `null`: no ioredis client in this app. */
  redis: RedisMetrics | ProbeError | (ProbeError & Record<string, unknown>) | null;
  /** `null`: no PostgreSQL DataSource in this app (always present in reports; optional here for older callers). */
  postgres?: PostgresMetrics | ProbeError | null;
}

/** The app's `pg.Pool`, read in-process. */
export interface PostgresPoolMetrics {
  /** Clients the pool holds open (busy + idle). */
  total: number;
  idle: number;
  /** `connect()` calls queued for a client. */
  waiting: number;
  [extra: string]: unknown;
}

/** Client sessions in `pg_stat_activity`, server-wide (the probe's own connection included). */
export interface PostgresServerMetrics {
  connections: number;
  active: number;
  idleInTransaction: number;
  /** Sessions waiting on a lock (`wait_event_type = 'Lock'`). */
  waitingOnLock: number;
  [extra: string]: unknown;
}

export interface PostgresMetrics {
  pool: PostgresPoolMetrics | ProbeError;
  server: PostgresServerMetrics | ProbeError;
  [extra: string]: unknown;
}

/** A pattern found in a trace: `n+1`, the same statement run `count` times under one parent span. */
export interface TraceFinding {
  kind: 'n+1';
  /** Name of the parent span (`RoomService.listPlayers`). */
  parent: string;
  /** The normalized statement. */
  statement: string;
  count: number;
  /**
   * The traced method the statements ran in, when `parent` called it in a loop (each call one span, e.g.
   * `RoomRepository.findById`); absent when the statements are `parent`'s own.
   */
  via?: string;
}

/** The JSON report: one line on stdout per reported trace (`format: 'json'`). */
export interface TraceRecord {
  type: 'trace';
  outcome: TraceOutcome;
  /** 32 lowercase hex characters. */
  traceId: string;
  transport: TraceTransport;
  /** `Class.method` of the handler (or the name given to `TraceContext.run`). */
  handler: string;
  /** `GET /rooms/:id`, a WebSocket event name or an RPC pattern. */
  route: string;
  durationMs: number;
  spans: SpanRecord[];
  droppedSpans: number;
  error?: { name: string; message: string; stack?: string };
  metrics?: SystemMetrics;
  /** Patterns found in the trace (N+1 statements); absent when there are none. */
  findings?: TraceFinding[];
  /** An `@Interval(n)` run (transport `cron`) that took longer than `n` ms: by how much. */
  overrunMs?: number;
  /** The BullMQ job of a `queue` trace. */
  queue?: QueueJobRecord;
  /** Milliseconds the event loop was blocked while this trace ran (the blocked-loop watchdog saw it), if it was. */
  blockedMs?: number;
  /** The CPU profile recorded while this trace was slow (option `profile`), if one was. */
  profile?: ProfileRecord;
}

/** One function of a CPU profile's summary: where the samples landed (self time, callees not included). */
export interface ProfileFunction {
  /** The function's name as V8 knows it; `(anonymous)` when it has none, `(garbage collector)` for GC. */
  function: string;
  /** A path (`/app/dist/game.service.js`), the runtime's own id (`node:internal/timers`), or `""` (native, GC). */
  file: string;
  /** 1-based line where the function starts; `0` when unknown. */
  line: number;
  /** Milliseconds of samples taken in this function itself, summed over every call path. */
  selfMs: number;
}

/** A CPU profile taken at the moment of slowness (option `profile`): the file and its ten heaviest functions. */
export interface ProfileRecord {
  /** Absolute path of the `.cpuprofile` file (opens in Chrome DevTools, Performance panel, or speedscope). */
  file: string;
  /** ISO time the recording started. */
  startedAt: string;
  /**
   * Time the profile spans: `profile.durationMs` plus the time V8 took to start it (it first lists the code it has
   * compiled: tens to hundreds of ms), or less when the app closed meanwhile.
   */
  durationMs: number;
  /** The ten functions with the most self time, heaviest first; idle time and `(program)` left out. */
  top: ProfileFunction[];
  /** Why the file is missing when it could not be written (`top` is still the profile's). */
  error?: string;
}

/** The BullMQ job a `queue` trace processed. */
export interface QueueJobRecord {
  /** Queue name. */
  name: string;
  jobName: string;
  jobId: string;
  /** 1 for the first try, 2 for the first retry, … */
  attempt: number;
  /** Job created → processing started (a delayed job's delay included). */
  waitMs: number;
  /** Milliseconds the event loop was blocked while this trace ran (the blocked-loop watchdog saw it), if it was. */
  blockedMs?: number;
}

/** One frame of the main thread's JavaScript stack, as the blocked-loop watchdog read it. */
export interface BlockedStackFrame {
  /** `Class.method` or the function's name; `(anonymous)` when it has none. */
  function: string;
  /** A path (`/app/dist/game.service.js`), or the runtime's own id (`node:internal/timers`). */
  file: string;
  line: number;
  column: number;
}

/** What was running when the loop blocked, if it was inside a trace. */
export interface BlockedTraceInfo {
  traceId: string;
  transport: TraceTransport;
  handler: string;
  route: string;
  /** Name of the span that was current (the handler itself, or a `@Trace` method under it). */
  span: string;
}

/** A garbage-collection pause that overlapped the block. */
export interface GcPause {
  kind: 'minor' | 'major' | 'mark-compact' | 'incremental' | 'weak-callbacks' | 'unknown';
  durationMs: number;
}

/** The event loop did not turn for `blockedThresholdMs` or more (`{"type":"blocked"}`), written once it turned again. */
export interface BlockedRecord {
  type: 'blocked';
  /** How long the loop did not turn, measured between two heartbeats of the watchdog. */
  blockedMs: number;
  /** ISO time the block started (about). */
  at: string;
  /** The main thread's JavaScript stack while it was blocked: innermost first, the library's frames removed, ≤ 20. */
  stack: BlockedStackFrame[];
  /** Why `stack` is empty, when it is (e.g. the block ended in native code before the stack could be read). */
  stackUnavailable?: string;
  trace: BlockedTraceInfo | null;
  gc: GcPause[];
  metrics?: SystemMetrics;
  /**
   * The CPU profile recorded once the loop turned again (option `profile`): the main thread cannot start one while it
   * is blocked, so this shows the block only if it goes on or repeats (see docs/stalls.md).
   */
  profile?: ProfileRecord;
}

/** Every kind of report, as `onReport` receives it and the JSON line holds it. */
export type ReportRecord = TraceRecord | BlockedRecord;
