import { TraceContext } from '../context/trace-context.js';

/** What `traceLogFields()` returns: both ids inside a trace, neither outside. */
export interface TraceLogFields {
  /** The report's `traceId` (32 lowercase hex characters; OpenTelemetry's trace id when the bridge is on). */
  traceId?: string;
  /** The running span's id (16 lowercase hex characters; OpenTelemetry's span id for the handler's span). */
  spanId?: string;
}

/**
 * `{ traceId, spanId }` of the code that is running, or `{}` outside any trace: the fields that tie a log line to its
 * report and its OpenTelemetry trace. Made for loggers that add fields per line: `pino({ mixin: traceLogFields })`,
 * a winston `format`, nestjs-pino's `pinoHttp.mixin` (docs/logs.md).
 */
export function traceLogFields(): TraceLogFields {
  const context = TraceContext.current();
  return context === undefined ? {} : { traceId: context.traceId, spanId: context.spanId };
}
