import { performance } from 'node:perf_hooks';
import type { ActiveTrace } from '../context/active-trace.js';
import type { DbSpanInfo } from '../context/span-extra.js';
import { normalizeSql, sqlOperation } from '../instrumentation/normalize-sql.js';
import type { ResolvedTraceOptions } from '../resolve-options.js';
import type { SpanRecord, SystemMetrics, TraceOutcome, TraceRecord } from '../trace.types.js';
import { blockedMsOf } from '../stall/trace-blocked-time.js';
import { errorInfo, spanErrorMessage } from './error-info.js';

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
  if (db.system === 'mysql') {
    const raw = db.statement ?? '';
    const operation = sqlOperation(raw);
    const statement =
      options.instrument.statement === 'none' ? operation : normalizeSql(raw, options.instrument.maxStatementLength);
    return { name: `mysql ${operation}`, kind: 'db', system: 'mysql', statement };
  }
  // A pipeline / multi is named in lower case like DESIGN.md's `redis pipeline`; single commands upper case.
  if (db.commands !== undefined) {
    const batch = (db.statement ?? 'pipeline').toLowerCase();
    return { name: `redis ${batch}`, kind: 'db', system: 'redis', statement: batch };
  }
  const command = (db.statement ?? 'command').toUpperCase();
  const name = db.key !== undefined && options.instrument.redisKeys ? `redis ${command} ${db.key}` : `redis ${command}`;
  return { name, kind: 'db', system: 'redis', statement: command };
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
      }
      if (extra.errored) span.error = spanErrorMessage(extra.error);
      if (extra.logs) span.logs = extra.logs.slice();
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
  const blockedMs = blockedMsOf(context);
  if (blockedMs !== undefined) record.blockedMs = blockedMs;
  return record;
}
