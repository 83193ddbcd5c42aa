import type { ActiveTrace } from '../context/active-trace.js';

/** Outcome of a finished trace, whether or not it is reported. */
export type FinishedOutcome = 'ok' | 'slow' | 'error';

/**
 * Something that follows every trace (the OpenTelemetry bridge, Prometheus metrics), provided under
 * `TRACE_LISTENERS`. The reporter calls only the listeners that are `active` once the app has bootstrapped, so an
 * unused one costs nothing per trace. Must not throw (a throw is logged and ignored).
 */
export interface TraceListener {
  /** Read once at bootstrap: whether this listener wants to see traces at all. */
  readonly active: boolean;
  opened?(context: ActiveTrace): void;
  finished(context: ActiveTrace, outcome: FinishedOutcome): void;
}
