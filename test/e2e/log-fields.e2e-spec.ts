import 'reflect-metadata';
import { Writable } from 'node:stream';
import { Controller, Get, Injectable, Logger as NestLogger, Module } from '@nestjs/common';
import type { INestApplication } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { Logger as PinoNestLogger, LoggerModule } from 'nestjs-pino';
import { pino } from 'pino';
import winston from 'winston';
import request from 'supertest';
import { Trace, TraceModule, traceLogFields } from '../../src/index.js';
import type { TraceRecord } from '../../src/index.js';
import { ReportCapture } from '../support/report-capture.js';

/** Lines written by a logger, parsed (every logger here writes JSON lines). */
class LineCapture extends Writable {
  readonly lines: Record<string, unknown>[] = [];
  override _write(chunk: Buffer, _encoding: BufferEncoding, done: () => void): void {
    for (const line of chunk.toString('utf8').split('\n'))
      if (line.trim()) this.lines.push(JSON.parse(line) as Record<string, unknown>);
    done();
  }
}

// The configurations of docs/logs.md, writing to captured streams instead of stdout.
const pinoLines = new LineCapture();
const pinoLogger = pino({ mixin: traceLogFields }, pinoLines);

const winstonLines = new LineCapture();
const winstonLogger = winston.createLogger({
  format: winston.format.combine(
    winston.format((info) => Object.assign(info, traceLogFields()))(),
    winston.format.json(),
  ),
  transports: [new winston.transports.Stream({ stream: winstonLines })],
});

const nestPinoLines = new LineCapture();

@Trace()
@Injectable()
class RoomService {
  private readonly logger = new NestLogger('RoomService');

  load(via: string): void {
    if (via === 'pino') pinoLogger.info({ via }, 'loading room');
    else if (via === 'winston') winstonLogger.info('loading room', { via });
    else this.logger.log('loading room');
  }
}

@Controller('lines')
class LinesController {
  private readonly logger = new NestLogger('Lines');
  constructor(private readonly rooms: RoomService) {}

  @Get('pino')
  pino(): { ok: true } {
    pinoLogger.info('in the handler');
    this.rooms.load('pino');
    return { ok: true };
  }

  @Get('winston')
  winston(): { ok: true } {
    winstonLogger.info('in the handler');
    this.rooms.load('winston');
    return { ok: true };
  }

  @Get('nest')
  nest(): { ok: true } {
    this.logger.log('in the handler');
    this.rooms.load('nest');
    return { ok: true };
  }
}

const capture = new ReportCapture();

@Module({
  imports: [
    TraceModule.forRoot({
      logAll: true,
      format: 'json',
      stream: capture,
      hungThresholdMs: 0,
      otel: { enabled: false },
    }),
    LoggerModule.forRoot({ pinoHttp: [{ mixin: traceLogFields }, nestPinoLines] }),
  ],
  controllers: [LinesController],
  providers: [RoomService],
})
class AppModule {}

async function until(read: () => unknown[], count: number): Promise<void> {
  const deadline = Date.now() + 5000;
  while (read().length < count && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
}

describe('traceLogFields() with real loggers: every line logged inside a handler carries the report traceId', () => {
  let app: INestApplication;

  beforeAll(async () => {
    app = (await Test.createTestingModule({ imports: [AppModule] }).compile()).createNestApplication({
      bufferLogs: true,
    });
    app.useLogger(app.get(PinoNestLogger));
    await app.init();
  });
  afterAll(async () => {
    await app.close();
  });

  async function reportOf(path: string): Promise<TraceRecord> {
    await request(app.getHttpServer()).get(path).expect(200);
    const [report] = await capture.waitFor((r) => r.route === `GET ${path}`);
    return report as TraceRecord;
  }

  function expectIds(lines: Record<string, unknown>[], traceId: string): void {
    expect(lines).toHaveLength(2);
    for (const line of lines) {
      expect(line.traceId).toBe(traceId);
      expect(line.spanId).toMatch(/^[0-9a-f]{16}$/);
    }
    // The handler's line and the service's line come from two spans.
    expect(lines[0]?.spanId).not.toBe(lines[1]?.spanId);
  }

  it('pino: pino({ mixin: traceLogFields })', async () => {
    pinoLines.lines.length = 0;
    const report = await reportOf('/lines/pino');
    expectIds(pinoLines.lines, report.traceId);
    pinoLogger.info('outside');
    expect(pinoLines.lines[2]?.msg).toBe('outside');
    expect(pinoLines.lines[2]).not.toHaveProperty('traceId');
  });

  it('winston: a one-line format', async () => {
    winstonLines.lines.length = 0;
    const report = await reportOf('/lines/winston');
    await until(() => winstonLines.lines, 2);
    expectIds(winstonLines.lines, report.traceId);
    expect(winstonLines.lines.map((line) => line.message)).toEqual(['in the handler', 'loading room']);
  });

  it("nestjs-pino: pinoHttp's mixin, with Nest's Logger routed to pino by app.useLogger", async () => {
    nestPinoLines.lines.length = 0;
    const report = await reportOf('/lines/nest');
    const messages = nestPinoLines.lines.filter((line) => line.msg === 'in the handler' || line.msg === 'loading room');
    expectIds(messages, report.traceId);
    // The same calls are in the report (captureLogs), at their place in the tree.
    expect(report.spans.map((span) => span.logs)).toEqual([
      ['LOG [Lines] in the handler'],
      ['LOG [RoomService] loading room'],
    ]);
    // pino-http's own "request completed" line is written from the response's `finish`, inside the request too.
    const completed = nestPinoLines.lines.find((line) => line.msg === 'request completed');
    expect(completed?.traceId).toBe(report.traceId);
  });
});
