import type { ReportRecord } from '../trace.types.js';

/** A report as written: the same object the JSON line holds (`type` "trace" or "blocked"). */
export type { ReportRecord };

/** Writes a finished report somewhere (the logger as text, a stream as JSON). Never throws into the app. */
export interface ReportWriter {
  write(record: ReportRecord): void;
}

/** Where JSON lines go: `process.stdout`, a file stream, or anything with a `write(line)` (tests). */
export interface ReportStream {
  write(line: string): unknown;
}
