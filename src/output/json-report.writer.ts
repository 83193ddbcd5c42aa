import { formatJson } from '../report/json-format.js';
import type { ReportRecord, ReportStream, ReportWriter } from './report-writer.js';

/** One JSON line per report on a stream (`process.stdout` by default), so `node app.js | jq` reads it as it is. */
export class JsonReportWriter implements ReportWriter {
  constructor(private readonly stream: ReportStream) {}

  write(record: ReportRecord): void {
    this.stream.write(formatJson(record));
  }
}
