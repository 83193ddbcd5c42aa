import type { TraceRecord } from 'nestjs-trace';

/**
 * Collects JSON reports through the library's output seam (a port of test/support/report-capture.ts that reads the
 * types from the installed package): pass it as `TraceModule.forRoot({ format: 'json', stream: capture })`.
 */
export class ReportCapture {
  readonly reports: TraceRecord[] = [];

  /** The stream side: one call per JSON line the library writes. */
  write(line: string): boolean {
    for (const part of line.split('\n')) if (part) this.reports.push(JSON.parse(part) as TraceRecord);
    return true;
  }

  clear(): void {
    this.reports.length = 0;
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
      await sleep(20);
    }
  }
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Span names indented by depth, for compact tree assertions. */
export function tree(record: TraceRecord): string[] {
  return record.spans.map((span) => `${'  '.repeat(span.depth)}${span.name}`);
}
