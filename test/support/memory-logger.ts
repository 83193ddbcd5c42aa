import type { LoggerService } from '@nestjs/common';

/** A logger that keeps its lines as `"<level> <message>"`, for tests that read what the library logged. */
export class MemoryLogger implements LoggerService {
  readonly lines: string[] = [];
  log(message: unknown): void {
    this.lines.push(`log ${String(message)}`);
  }
  error(message: unknown): void {
    this.lines.push(`error ${String(message)}`);
  }
  warn(message: unknown): void {
    this.lines.push(`warn ${String(message)}`);
  }
}
