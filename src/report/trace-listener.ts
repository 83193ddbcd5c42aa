import type { TraceContext } from '../context/trace-context.js';

/** Outcome of a finished trace, whether or not it is reported. */
export type FinishedOutcome = 'ok' | 'slow' | 'error';

/** Something that follows every trace (the OpenTelemetry bridge, Prometheus metrics). Must not throw. */
export interface TraceListener {
  opened?(context: TraceContext): void;
  finished(context: TraceContext, outcome: FinishedOutcome): void;
}
