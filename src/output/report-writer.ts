import type { TraceRecord } from '../trace.types.js';

/** A report as written: the same object the JSON line holds. */
export type ReportRecord = TraceRecord;

/** Writes a finished report somewhere (the logger as text, a stream as JSON). Never throws into the app. */
export interface ReportWriter {
  write(record: ReportRecord): void;
}

/** Where JSON lines go: `process.stdout`, a file stream, or anything with a `write(line)` (tests). */
export interface ReportStream {
  write(line: string): unknown;
}
