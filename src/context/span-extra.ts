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

/** The rare parts of a span, stored only for the spans that have them. */
export interface SpanExtra {
  errored?: boolean;
  /** The very value that was thrown or rejected with (may be `null`, a string, anything). */
  error?: unknown;
  logs?: string[];
  /** The span's id, made the first time `TraceContext#spanId` is read in it (or OpenTelemetry's, for the root). */
  spanId?: string;
  db?: DbSpanInfo;
  cancelled?: boolean;
}
