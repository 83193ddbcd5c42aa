import 'reflect-metadata';
import { ConsoleLogger, Logger } from '@nestjs/common';
import type { LoggerService } from '@nestjs/common';
import { TraceContext } from '../../../src/index.js';
import { installNestLoggerCapture, withoutLogCapture } from '../../../src/logs/nest-logger.capture.js';
import { FailureLog } from '../../../src/report/failure-log.js';
import { logLine } from '../../../src/report/trace-record.builder.js';
import { resolveOptions } from '../../../src/resolve-options.js';
import { CaptureSink } from '../../support/capture-sink.js';

class SilentLogger implements LoggerService {
  readonly lines: unknown[][] = [];
  log(...args: unknown[]): void {
    this.lines.push(args);
  }
  error(...args: unknown[]): void {
    this.lines.push(args);
  }
  warn(...args: unknown[]): void {
    this.lines.push(args);
  }
}

describe('the Nest Logger hook', () => {
  const sink = new CaptureSink();
  const appLogger = new SilentLogger();
  let uninstall: () => void;

  beforeAll(() => {
    Logger.overrideLogger(appLogger);
    sink.install();
    uninstall = installNestLoggerCapture();
  });
  afterAll(() => {
    uninstall();
    sink.uninstall();
    Logger.overrideLogger(new ConsoleLogger());
  });

  it("leaves out the library's own logging (failures logged inside a trace)", () => {
    const failures = new FailureLog(resolveOptions({ logger: new Logger('Trace') }));
    TraceContext.run('job', () => {
      new Logger('Job').warn('kept');
      failures.failed('trace listener', new Error('boom'));
      withoutLogCapture(() => Logger.log('left out', 'Trace'));
    });
    expect(sink.last().spans[0]?.logs).toEqual(['WARN [Job] kept']);
    expect(appLogger.lines.map((args) => args[args.length - 1])).toEqual(['Job', 'Trace', 'Trace']);
  });

  it('keeps a reference: the message is turned into text when the report is built', () => {
    const message = { state: 'before' };
    TraceContext.run('job', () => new Logger('Job').log(message));
    message.state = 'after';
    expect(sink.last().spans[0]?.logs).toEqual(["LOG [Job] { state: 'after' }"]);
  });

  it('is installed once however many apps ask, and removed with the last one', () => {
    const withOne = Logger.prototype.log;
    const second = installNestLoggerCapture();
    expect(Logger.prototype.log).toBe(withOne);
    second();
    second();
    expect(Logger.prototype.log).toBe(withOne);
  });

  it('does not record a level the app logger does not print', () => {
    Logger.overrideLogger(['error']);
    try {
      TraceContext.run('job', () => {
        new Logger('Job').debug('hidden');
        new Logger('Job').error('shown');
      });
    } finally {
      Logger.overrideLogger(['log', 'error', 'warn', 'debug', 'verbose', 'fatal']);
    }
    expect(sink.last().spans[0]?.logs).toEqual(['ERROR [Job] shown']);
  });
});

describe('logLine', () => {
  it('formats errors and cuts long lines at 500 characters', () => {
    expect(logLine({ level: 'ERROR', context: 'Db', message: new TypeError('bad'), at: 0 })).toBe(
      'ERROR [Db] TypeError: bad',
    );
    const long = logLine({ level: 'WARN', context: undefined, message: 'x'.repeat(600), at: 0 });
    expect(long).toHaveLength(501);
    expect(long.startsWith('WARN xxx')).toBe(true);
  });
});
