import type { LoggerService } from '@nestjs/common';
import { withoutLogCapture } from '../logs/nest-logger.capture.js';
import { formatBlockedText } from '../report/blocked-text-format.js';
import { formatText } from '../report/text-format.js';
import type { ReportRecord, ReportWriter } from './report-writer.js';

/** The indented call tree through the app's logger: errors as `error`, ok reports as `log`, the rest as `warn`. */
export class TextReportWriter implements ReportWriter {
  constructor(private readonly logger: LoggerService) {}

  write(record: ReportRecord): void {
    if (record.type === 'blocked') {
      const blocked = formatBlockedText(record);
      withoutLogCapture(() => {
        this.logger.warn(blocked);
      });
      return;
    }
    const text = formatText(record);
    // Written outside any trace already; kept out of capture anyway, whatever calls it.
    withoutLogCapture(() => {
      if (record.outcome === 'error') this.logger.error(text);
      else if (record.outcome === 'ok') this.logger.log(text);
      else this.logger.warn(text);
    });
  }
}
