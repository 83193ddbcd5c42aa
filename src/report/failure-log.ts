import { Inject, Injectable } from '@nestjs/common';
import { withoutLogCapture } from '../logs/nest-logger.capture.js';
import type { ResolvedTraceOptions } from '../resolve-options.js';
import { MESSAGES } from '../trace.messages.js';
import { TRACE_OPTIONS } from '../trace.tokens.js';

/** A failure of the library itself is logged at most once per this interval and place. */
const FAILURE_LOG_INTERVAL_MS = 60_000;

/**
 * Where the library's own failures go (a listener that threw, a snapshot that failed, an `onReport` callback that
 * threw): logged through the app's logger at most once a minute per place, never thrown into the app.
 */
@Injectable()
export class FailureLog {
  private readonly last = new Map<string, number>();

  constructor(@Inject(TRACE_OPTIONS) private readonly options: ResolvedTraceOptions) {}

  failed(where: string, error: unknown): void {
    const now = Date.now();
    const last = this.last.get(where);
    if (last !== undefined && now - last < FAILURE_LOG_INTERVAL_MS) return;
    this.last.set(where, now);
    try {
      withoutLogCapture(() => {
        this.options.logger.warn?.(MESSAGES.internalFailure(where, error));
      });
    } catch {
      // A logger that throws has nowhere left to report to.
    }
  }
}
