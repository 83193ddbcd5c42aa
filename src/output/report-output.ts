import { Inject, Injectable } from '@nestjs/common';
import { FailureLog } from '../report/failure-log.js';
import type { ResolvedTraceOptions } from '../resolve-options.js';
import { TRACE_OPTIONS } from '../trace.tokens.js';
import { JsonReportWriter } from './json-report.writer.js';
import type { ReportRecord, ReportWriter } from './report-writer.js';
import { TextReportWriter } from './text-report.writer.js';

/**
 * The one way out for reports: the writer chosen by `format` (text through `logger`, JSON lines to `stream`), then
 * the app's `onReport` callback with the same object. A writer or callback that throws is logged, never rethrown.
 */
@Injectable()
export class ReportOutput {
  private readonly writer: ReportWriter;

  constructor(
    @Inject(TRACE_OPTIONS) private readonly options: ResolvedTraceOptions,
    @Inject(FailureLog) private readonly failures: FailureLog,
  ) {
    this.writer =
      options.format === 'json' ? new JsonReportWriter(options.stream) : new TextReportWriter(options.logger);
  }

  write(record: ReportRecord): void {
    try {
      this.writer.write(record);
    } catch (error) {
      this.failures.failed(`${this.options.format} report writer`, error);
    }
    const onReport = this.options.onReport;
    if (onReport === undefined) return;
    try {
      onReport(record);
    } catch (error) {
      this.failures.failed('onReport', error);
    }
  }
}
