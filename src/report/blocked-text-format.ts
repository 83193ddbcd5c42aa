import type { BlockedRecord } from '../trace.types.js';
import { metricsLines, profileLines } from './text-format.js';

/** The text of a blocked-loop report: a header, what was running, the stack (innermost first), GC, the metrics. */
export function formatBlockedText(record: BlockedRecord): string {
  const out = [`BLOCKED ${record.blockedMs.toFixed(1)}ms  event loop did not turn  at ${record.at}`];
  const trace = record.trace;
  if (trace !== null) {
    out.push(`in ${trace.transport} ${trace.route}  ${trace.handler}  span ${trace.span}  trace=${trace.traceId}`);
  }
  for (const frame of record.stack) out.push(`  at ${frame.function} (${frame.file}:${frame.line}:${frame.column})`);
  if (record.stack.length === 0 && record.stackUnavailable !== undefined)
    out.push(`  (no stack: ${record.stackUnavailable})`);
  if (record.gc.length > 0) {
    const total = record.gc.reduce((sum, pause) => sum + pause.durationMs, 0);
    out.push(
      `gc ${total.toFixed(1)}ms during the block: ${record.gc.map((p) => `${p.kind} ${p.durationMs.toFixed(1)}ms`).join(', ')}`,
    );
  }
  if (record.profile) out.push(...profileLines(record.profile));
  if (record.metrics) out.push(...metricsLines(record.metrics));
  return out.join('\n');
}
