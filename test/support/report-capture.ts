import type { BlockedRecord, ReportRecord, TraceRecord } from '../../src/trace.types.js';

/**
 * Collects JSON reports through the library's output seam: pass it as `TraceModule.forRoot({ format: 'json', stream:
 * capture })` and it receives every line (nothing is read from, or patched on, `process.stdout`).
 */
export class ReportCapture {
  /** Trace reports (`type: "trace"`). */
  readonly reports: TraceRecord[] = [];
  /** Blocked-loop reports, kept apart: a busy test machine may block the loop of any test's app. */
  readonly blocked: BlockedRecord[] = [];
  readonly rawLines: string[] = [];

  /** The stream side: one call per JSON line the library writes. */
  write(line: string): boolean {
    this.rawLines.push(line);
    for (const part of line.split('\n')) {
      if (!part) continue;
      const record = JSON.parse(part) as ReportRecord;
      if (record.type === 'blocked') this.blocked.push(record);
      else this.reports.push(record);
    }
    return true;
  }

  clear(): void {
    this.reports.length = 0;
    this.blocked.length = 0;
    this.rawLines.length = 0;
  }

  /** Waits until `count` reports match, or fails after `timeoutMs`. */
  async waitFor(predicate: (record: TraceRecord) => boolean, count = 1, timeoutMs = 5000): Promise<TraceRecord[]> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = this.reports.filter(predicate);
      if (found.length >= count) return found;
      if (Date.now() > deadline) {
        throw new Error(
          `expected ${count} matching reports, saw ${found.length} of ${this.reports.length}: ${JSON.stringify(this.reports.map((r) => [r.outcome, r.handler, r.route]))}`,
        );
      }
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Span names with depth, for compact tree assertions. */
export function tree(record: TraceRecord): string[] {
  return record.spans.map((span) => `${'  '.repeat(span.depth)}${span.name}`);
}
