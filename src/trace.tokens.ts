/** Internal DI tokens: namespaced strings so "Nest can't resolve …" errors read well. Never exported. */
export const TRACE_OPTIONS = 'TRACE:OPTIONS';
/** The factory provider that wraps every handler at start-up (see trace.module.ts). */
export const TRACE_ENTRY_BINDING = 'TRACE:ENTRY_BINDING';
/** Metadata key set by `@NoTrace()` on (prototype, method name). */
export const NO_TRACE_METADATA = 'TRACE:NO_TRACE';
/** The `MetricsSource` reports take their snapshot from (SystemMetricsService). */
export const TRACE_METRICS_SOURCE = 'TRACE:METRICS_SOURCE';
/** The `TraceListener`s the reporter tells about every trace (OpenTelemetry bridge, Prometheus). */
export const TRACE_LISTENERS = 'TRACE:LISTENERS';
/** The `EntryPoint`s handlers are bound to at start-up (one per transport; see trace.module.ts). */
export const TRACE_ENTRY_POINTS = 'TRACE:ENTRY_POINTS';
