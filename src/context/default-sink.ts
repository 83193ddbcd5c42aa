import type { TraceSink } from './active-trace.js';

/** The sink `TraceContext.run` reports to: set by TraceModule while an app with it is running. */
export const defaultSink: { current: TraceSink | undefined } = { current: undefined };
