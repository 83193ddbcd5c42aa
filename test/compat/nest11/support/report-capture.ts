import type { TraceRecord } from 'nestjs-trace';

/**
 * Collects the JSON report lines the library writes to stdout (a port of test/support/report-capture.ts that reads
 * the types from the installed package). Other output passes through untouched.
 */
export class ReportCapture {
  readonly reports: TraceRecord[] = [];
  private original: typeof process.stdout.write | undefined;

  start(): this {
    const original = process.stdout.write.bind(process.stdout);
    this.original = process.stdout.write;
    process.stdout.write = ((chunk: unknown, ...rest: unknown[]) => {
      const text = typeof chunk === 'string' ? chunk : Buffer.isBuffer(chunk) ? chunk.toString('utf8') : '';
      if (text.startsWith('{"type":"trace"')) {
        for (const line of text.split('\n')) if (line) this.reports.push(JSON.parse(line) as TraceRecord);
        return true;
      }
      return (original as (...args: unknown[]) => boolean)(chunk, ...rest);
    }) as typeof process.stdout.write;
    return this;
  }

  /** The output seam: pass the capture as `TraceModule.forRoot({ format: 'json', stream: capture })` (no stdout patch). */
  write(line: string): boolean {
    for (const part of line.split('\n')) if (part) this.reports.push(JSON.parse(part) as TraceRecord);
    return true;
  }

  stop(): void {
    if (this.original) process.stdout.write = this.original;
    this.original = undefined;
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
