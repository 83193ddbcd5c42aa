import { performance } from 'node:perf_hooks';
import type { ActiveTrace } from '../context/active-trace.js';
import { inspect } from 'node:util';
import { MAX_LOG_LENGTH } from '../context/active-trace.js';
import type { CapturedLog, DbSpanInfo } from '../context/span-extra.js';
import { normalizePostgresSql, normalizeSql, sqlOperation } from '../instrumentation/normalize-sql.js';
import type { ResolvedTraceOptions } from '../resolve-options.js';
import type { SpanRecord, SystemMetrics, TraceOutcome, TraceRecord } from '../trace.types.js';
import { blockedMsOf } from '../stall/trace-blocked-time.js';
import { errorInfo, spanErrorMessage } from './error-info.js';
import { findRepeatedStatements } from './repeated-statements.js';
import { overrunMs } from './overrun.js';

/** Rounds to 0.01 ms. */
const round = (ms: number): number => Math.round(ms * 100) / 100;

/** Handler name of a trace: `Class.method`, or the name given to `ActiveTrace.run`. */
export function handlerName(context: ActiveTrace): string {
  const { handlerClass, handlerName: method } = context.origin;
  return handlerClass ? `${handlerClass.name}.${method}` : method;
}

/** Route of a trace: `GET /rooms/:id`, the event name or the RPC pattern. */
export function routeName(context: ActiveTrace): string {
  const { method, route, transport } = context.origin;
  if (transport === 'http') return `${method ?? ''} ${route ?? '(unknown route)'}`.trim();
  return route ?? context.origin.handlerName;
}

export function dbFields(
  db: DbSpanInfo,
  options: ResolvedTraceOptions,
): Pick<SpanRecord, 'name' | 'kind' | 'system' | 'statement'> {
  if (db.system === 'mysql' || db.system === 'postgresql') {
    const raw = db.statement ?? '';
    const operation = sqlOperation(raw);
    const normalize = db.system === 'mysql' ? normalizeSql : normalizePostgresSql;
    const statement =
      options.instrument.statement === 'none' ? operation : normalize(raw, options.instrument.maxStatementLength);
    return { name: `${db.system} ${operation}`, kind: 'db', system: db.system, statement };
  }
  // A pipeline / multi is named in lower case like `redis pipeline` in docs/report-format.md; single commands upper case.
  if (db.commands !== undefined) {
    const batch = (db.statement ?? 'pipeline').toLowerCase();
    return { name: `redis ${batch}`, kind: 'db', system: 'redis', statement: batch };
  }
  const command = (db.statement ?? 'command').toUpperCase();
  const name = db.key !== undefined && options.instrument.redisKeys ? `redis ${command} ${db.key}` : `redis ${command}`;
  return { name, kind: 'db', system: 'redis', statement: command };
}

/** A span's note as reported: an `addLog` note as is, a captured `Logger` call as `"WARN [Context] message"`. */
export function logLine(log: string | CapturedLog): string {
  if (typeof log === 'string') return log;
  const message = logMessage(log.message);
  const context = log.context;
  const text =
    context === undefined || context === null || context === ''
      ? `${log.level} ${message}`
      : `${log.level} [${logMessage(context)}] ${message}`;
  return text.length > MAX_LOG_LENGTH ? `${text.slice(0, MAX_LOG_LENGTH)}…` : text;
}

/** The message of a captured `Logger` call as text (it may be any value: an object for pino, an Error). */
export function logMessage(message: unknown): string {
  if (typeof message === 'string') return message;
  if (message instanceof Error) return `${message.name}: ${message.message}`;
  try {
    return inspect(message, { depth: 2, breakLength: Number.POSITIVE_INFINITY, maxStringLength: MAX_LOG_LENGTH });
  } catch {
    return Object.prototype.toString.call(message);
  }
}

/**
 * Builds the report of a trace from its recorded numbers: the only place where span strings and
 * objects are made. Spans still running (a hung report) get their duration so far and `unfinished`.
 */
export function buildTraceRecord(
  context: ActiveTrace,
  outcome: TraceOutcome,
  metrics: SystemMetrics | undefined,
  options: ResolvedTraceOptions,
): TraceRecord {
  const now = performance.now();
  const origin = context.startTime;
  const count = context.count;
  const spans: SpanRecord[] = new Array<SpanRecord>(count);
  const depths = context.spanDepths();
  for (let index = 0; index < count; index++) {
    const start = context.spanStart(index);
    const end = context.spanEnd(index);
    const unfinished = Number.isNaN(end);
    let span: SpanRecord = {
      name: context.names[index] ?? '',
      depth: depths[index] ?? 0,
      startMs: round(start - origin),
      durationMs: round((unfinished ? now : end) - start),
    };
    const extra = context.extras?.get(index);
    if (extra) {
      if (extra.db) {
        span = { ...span, ...dbFields(extra.db, options) };
        if (extra.db.rows !== undefined) span.rows = extra.db.rows;
        if (extra.db.commands !== undefined) span.commands = extra.db.commands;
        if (extra.db.errorCode !== undefined) span.errorCode = extra.db.errorCode;
        if (extra.db.poolWaitMs !== undefined) span.poolWaitMs = round(extra.db.poolWaitMs);
      }
      if (extra.errored) span.error = spanErrorMessage(extra.error);
      if (extra.logs) span.logs = extra.logs.map(logLine);
      if (extra.cancelled) span.cancelled = true;
    }
    if (unfinished) span.unfinished = true;
    spans[index] = span;
  }
  const root = context.extras?.get(0);
  const rootEnd = context.spanEnd(0);
  const record: TraceRecord = {
    type: 'trace',
    outcome,
    traceId: context.traceId,
    transport: context.origin.transport,
    handler: handlerName(context),
    route: routeName(context),
    durationMs: round((Number.isNaN(rootEnd) ? now : rootEnd) - origin),
    spans,
    droppedSpans: context.droppedSpans,
  };
  if (outcome === 'error' && root?.errored) record.error = errorInfo(root.error, options.maxStackLength);
  if (metrics) record.metrics = metrics;
  const findings = findRepeatedStatements(context, options);
  if (findings) record.findings = findings;
  const overrun = overrunMs(context);
  if (overrun !== undefined) record.overrunMs = round(overrun);
  if (context.origin.queue) record.queue = { ...context.origin.queue, waitMs: round(context.origin.queue.waitMs) };
  const blockedMs = blockedMsOf(context);
  if (blockedMs !== undefined) record.blockedMs = blockedMs;
  return record;
}
