import { Inject, Injectable } from '@nestjs/common';
import type { OnModuleDestroy, OnModuleInit } from '@nestjs/common';
import type { Uninstall } from '../instrumentation/install-once.util.js';
import type { ResolvedTraceOptions } from '../resolve-options.js';
import { TRACE_OPTIONS } from '../trace.tokens.js';
import { installNestLoggerCapture } from './nest-logger.capture.js';

/**
 * Option `captureLogs`: Nest `Logger` calls made inside a trace become notes of its current span. The hook is
 * process-wide (Nest's `Logger` is one class), installed while at least one app with the option on is running.
 */
@Injectable()
export class LogCaptureService implements OnModuleInit, OnModuleDestroy {
  private uninstall: Uninstall | undefined;

  constructor(@Inject(TRACE_OPTIONS) private readonly options: ResolvedTraceOptions) {}

  onModuleInit(): void {
    if (this.options.captureLogs) this.uninstall ??= installNestLoggerCapture();
  }

  onModuleDestroy(): void {
    this.uninstall?.();
    this.uninstall = undefined;
  }
}
