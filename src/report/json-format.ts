import type { ReportRecord } from '../trace.types.js';

/** One complete JSON line: JSON.stringify escapes every control character, so a report is never split. */
export function formatJson(record: ReportRecord): string {
  return `${JSON.stringify(record)}\n`;
}
