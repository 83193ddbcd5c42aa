import { randomBytes } from 'node:crypto';
import type { ActiveTrace } from '../../../../src/context/active-trace.js';
import { TraceContext as Context } from '../../../../src/context/trace-context.js';
import { buildTraceRecord } from '../../../../src/report/trace-record.builder.js';
import { resolveOptions } from '../../../../src/resolve-options.js';
import type { TraceModuleOptions } from '../../../../src/trace.options.js';
import type { SpanRecord, TraceRecord } from '../../../../src/trace.types.js';
import { CaptureSink } from '../../../support/capture-sink.js';

/** The shared servers of this machine (and CI). */
export const MYSQL_URL = process.env.MYSQL_URL ?? 'mysql://root@127.0.0.1:3306/test';
export const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';

/** A prefix no other run uses, for tables and keys. */
export const RUN_ID = `nt_instr_${process.pid}_${Date.now().toString(36)}`;

/** A value that must never leave the process. */
export function secret(label: string): string {
  return `S3cr3t_${label}_${randomBytes(6).toString('hex')}`;
}

/** Runs `fn` as a manual root trace and returns its result with the finished trace's record. */
export async function traced<T>(
  sink: CaptureSink,
  name: string,
  fn: () => Promise<T>,
  options: TraceModuleOptions = {},
): Promise<{ result: T; record: TraceRecord; context: ActiveTrace }> {
  const before = sink.finishedContexts.length;
  const result = await Context.run(name, fn);
  const context = sink.finishedContexts.slice(before).find((candidate) => candidate.origin.handlerName === name);
  if (!context) throw new Error(`trace ${name} did not finish`);
  return { result, record: buildTraceRecord(context, 'slow', undefined, resolveOptions(options)), context };
}

/** Span names indented by depth, for compact tree assertions. */
export function tree(record: TraceRecord): string[] {
  return record.spans.map((span) => `${'  '.repeat(span.depth)}${span.name}`);
}

/** The parent of each span (index), from the start-ordered, depth-annotated list. */
export function parents(spans: readonly SpanRecord[]): number[] {
  return spans.map((span, index) => {
    for (let candidate = index - 1; candidate >= 0; candidate--)
      if (spans[candidate]!.depth === span.depth - 1) return candidate;
    return -1;
  });
}

/** Every child starts after and ends before its parent (report values are rounded to 0.01 ms). */
export function expectNested(record: TraceRecord): void {
  const spans = record.spans;
  parents(spans).forEach((parent, index) => {
    if (parent < 0) return;
    const child = spans[index]!;
    const outer = spans[parent]!;
    expect(child.startMs).toBeGreaterThanOrEqual(outer.startMs - 0.02);
    expect(child.startMs + child.durationMs).toBeLessThanOrEqual(outer.startMs + outer.durationMs + 0.02);
    expect(child.durationMs).toBeLessThanOrEqual(outer.durationMs + 0.02);
  });
}

export function dbSpans(record: TraceRecord): SpanRecord[] {
  return record.spans.filter((span) => span.kind === 'db');
}

export { CaptureSink };

/** The PostgreSQL role and database `.ci/run` creates (`postgres_setup`). */
export const POSTGRES_URL =
  process.env.POSTGRES_URL ?? 'postgres://nestjs_trace:nestjs_trace@127.0.0.1:5432/nestjs_trace_test';
