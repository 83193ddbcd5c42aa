import 'reflect-metadata';
import { Controller, Get, Injectable, Logger, Module } from '@nestjs/common';
import type { INestApplication, LoggerService } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import request from 'supertest';
import { Trace, TraceContext, TraceModule } from '../../src/index.js';
import type { TraceModuleOptions, TraceRecord } from '../../src/index.js';
import { ReportCapture } from '../support/report-capture.js';

/** The app's own logger (`app.useLogger`): records exactly what each call hands it. */
class RecordingLogger implements LoggerService {
  readonly calls: { level: string; args: unknown[] }[] = [];
  log(...args: unknown[]): void {
    this.calls.push({ level: 'log', args });
  }
  error(...args: unknown[]): void {
    this.calls.push({ level: 'error', args });
  }
  warn(...args: unknown[]): void {
    this.calls.push({ level: 'warn', args });
  }
  debug(...args: unknown[]): void {
    this.calls.push({ level: 'debug', args });
  }
  verbose(...args: unknown[]): void {
    this.calls.push({ level: 'verbose', args });
  }
  fatal(...args: unknown[]): void {
    this.calls.push({ level: 'fatal', args });
  }
}

@Trace()
@Injectable()
class RoomService {
  private readonly logger = new Logger('RoomService');

  load(id: string): string {
    this.logger.warn(`room ${id} not cached`);
    return id;
  }
}

@Controller('logs')
class LogsController {
  private readonly logger = new Logger('Rooms');
  private readonly plain = new Logger();

  constructor(private readonly rooms: RoomService) {}

  @Get('levels')
  levels(): { ok: true } {
    this.logger.log('log line');
    this.logger.warn('warn line');
    this.logger.error('error line', 'Error: stack\n    at x (y.js:1:1)');
    this.logger.debug('debug line');
    this.logger.verbose('verbose line');
    this.logger.fatal('fatal line');
    Logger.warn('static with context', 'Static');
    Logger.log('static without context');
    Logger.error('static error', 'a stack', 'StaticError');
    this.plain.log('instance without context');
    this.logger.log({ roomId: 7, players: 2 });
    TraceContext.current()?.addLog('a note');
    this.rooms.load('42');
    return { ok: true };
  }

  @Get('fail')
  fail(): never {
    throw new Error('Room is full');
  }

  @Get('many')
  many(): { ok: true } {
    this.logger.warn('x'.repeat(600));
    for (let i = 0; i < 25; i++) this.logger.log(`line ${i}`);
    return { ok: true };
  }
}

async function start(options: TraceModuleOptions, logger: LoggerService | false): Promise<INestApplication> {
  @Module({
    imports: [TraceModule.forRoot({ hungThresholdMs: 0, otel: { enabled: false }, format: 'json', ...options })],
    controllers: [LogsController],
    providers: [RoomService],
  })
  class AppModule {}
  const app = (await Test.createTestingModule({ imports: [AppModule] }).compile()).createNestApplication({ logger });
  await app.init();
  return app;
}

describe('Nest Logger calls inside a trace (captureLogs)', () => {
  const capture = new ReportCapture();
  const appLogger = new RecordingLogger();
  let app: INestApplication;

  beforeAll(async () => {
    app = await start({ logAll: true, stream: capture }, appLogger);
  });
  afterAll(async () => {
    await app.close();
  });
  beforeEach(() => {
    capture.clear();
    appLogger.calls.length = 0;
  });

  async function reportOf(path: string): Promise<TraceRecord> {
    await request(app.getHttpServer()).get(path).expect(200);
    const [report] = await capture.waitFor((r) => r.route === `GET ${path}`);
    return report as TraceRecord;
  }

  it('puts every level, static and instance, in the current span as "LEVEL [Context] message"', async () => {
    const report = await reportOf('/logs/levels');
    expect(report.spans[0]?.logs).toEqual([
      'LOG [Rooms] log line',
      'WARN [Rooms] warn line',
      'ERROR [Rooms] error line',
      'DEBUG [Rooms] debug line',
      'VERBOSE [Rooms] verbose line',
      'FATAL [Rooms] fatal line',
      'WARN [Static] static with context',
      'LOG static without context',
      'ERROR [StaticError] static error',
      'LOG instance without context',
      'LOG [Rooms] { roomId: 7, players: 2 }',
      'a note',
    ]);
    const child = report.spans.find((span) => span.name === 'RoomService.load');
    expect(child?.depth).toBe(1);
    expect(child?.logs).toEqual(['WARN [RoomService] room 42 not cached']);
  });

  it("hands the app's logger exactly what it got before (same arguments, same count)", async () => {
    await reportOf('/logs/levels');
    expect(appLogger.calls.slice(0, 10)).toEqual([
      { level: 'log', args: ['log line', 'Rooms'] },
      { level: 'warn', args: ['warn line', 'Rooms'] },
      { level: 'error', args: ['error line', 'Error: stack\n    at x (y.js:1:1)', 'Rooms'] },
      { level: 'debug', args: ['debug line', 'Rooms'] },
      { level: 'verbose', args: ['verbose line', 'Rooms'] },
      { level: 'fatal', args: ['fatal line', 'Rooms'] },
      { level: 'warn', args: ['static with context', 'Static'] },
      { level: 'log', args: ['static without context'] },
      { level: 'error', args: ['static error', 'a stack', 'StaticError'] },
      { level: 'log', args: ['instance without context'] },
    ]);
  });

  it('keeps at most 20 lines per span, each cut at 500 characters', async () => {
    const report = await reportOf('/logs/many');
    const logs = report.spans[0]?.logs ?? [];
    expect(logs).toHaveLength(20);
    expect(logs[0]).toBe(`WARN [Rooms] ${'x'.repeat(487)}…`);
    expect(logs[19]).toBe('LOG [Rooms] line 18');
  });

  it("captures Nest's own exception handler log of an error the handler threw", async () => {
    await request(app.getHttpServer()).get('/logs/fail').expect(500);
    const [report] = await capture.waitFor((r) => r.route === 'GET /logs/fail');
    expect(report?.outcome).toBe('error');
    expect(report?.spans[0]?.logs).toEqual(['ERROR [ExceptionsHandler] Error: Room is full']);
  });

  it('records nothing outside a trace, and the calls still reach the logger', () => {
    new Logger('Outside').warn('not in a trace');
    expect(appLogger.calls).toEqual([{ level: 'warn', args: ['not in a trace', 'Outside'] }]);
  });
});

describe('captureLogs options', () => {
  it('captureLogs: false leaves the span without logs (and the hook uninstalled after close)', async () => {
    const capture = new ReportCapture();
    const app = await start({ logAll: true, stream: capture, captureLogs: false }, new RecordingLogger());
    const original = Logger.prototype.warn;
    await request(app.getHttpServer()).get('/logs/levels').expect(200);
    const [report] = await capture.waitFor((r) => r.route === 'GET /logs/levels');
    expect(report?.spans[0]?.logs).toEqual(['a note']);
    await app.close();
    expect(Logger.prototype.warn).toBe(original);
  });

  it('removes the hook when the app closes', async () => {
    const before = Logger.prototype.warn;
    const app = await start({ stream: new ReportCapture() }, new RecordingLogger());
    expect(Logger.prototype.warn).not.toBe(before);
    await app.close();
    expect(Logger.prototype.warn).toBe(before);
    expect(Logger.warn).toBe(Object.getOwnPropertyDescriptor(Logger, 'warn')?.value);
  });

  it('rejects a non-boolean captureLogs at bootstrap', async () => {
    await expect(start({ captureLogs: 'yes' as unknown as boolean }, false)).rejects.toThrow(/captureLogs/);
  });
});
