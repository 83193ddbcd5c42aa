/** Facts about a SQL statement or Redis command span, kept raw and turned into text only when reported. */
export interface DbSpanInfo {
  system: 'mysql' | 'redis' | 'postgresql';
  /** Raw SQL as sent (normalized at report time, so literals never leave the process), or the Redis command name. */
  statement?: string;
  /** Redis: first key of the command, when key capture is on. */
  key?: string;
  rows?: number;
  commands?: number;
  errorCode?: string;
  /** SQL: ms the statement waited in the app's pool queue (set only when it had to queue; see `pool-wait.ts`). */
  poolWaitMs?: number;
}

/** Level of a captured Nest `Logger` call, as shown in a report line (`"WARN [Context] message"`). */
export type CapturedLogLevel = 'LOG' | 'WARN' | 'ERROR' | 'DEBUG' | 'VERBOSE' | 'FATAL';

/**
 * A Nest `Logger` call made inside the span, kept as references (the message object is not copied or formatted):
 * its report line is built only when the trace is reported (`report/trace-record.builder.ts`).
 */
export interface CapturedLog {
  level: CapturedLogLevel;
  /** The logger's context (`new Logger('Rooms')`, or the last argument of a static call), if any. */
  context: unknown;
  message: unknown;
  /** performance.now() of the call (the time of its OpenTelemetry span event). */
  at: number;
}

/** The rare parts of a span, stored only for the spans that have them. */
export interface SpanExtra {
  errored?: boolean;
  /** The very value that was thrown or rejected with (may be `null`, a string, anything). */
  error?: unknown;
  /** `TraceContext#addLog` notes (strings) and captured Nest `Logger` calls, in call order. */
  logs?: (string | CapturedLog)[];
  /** The span's id, made the first time `TraceContext#spanId` is read in it (or OpenTelemetry's, for the root). */
  spanId?: string;
  db?: DbSpanInfo;
  cancelled?: boolean;
}
