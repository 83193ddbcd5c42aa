import 'reflect-metadata';
import { Controller, Get, Module } from '@nestjs/common';
import type { INestApplication } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { jest } from '@jest/globals';
import request from 'supertest';
import { TraceModule } from '../../src/index.js';
import type { TraceModuleOptions, TraceRecord } from '../../src/index.js';
import { ReportCapture } from '../support/report-capture.js';
import { MemoryLogger } from '../support/memory-logger.js';

@Controller('out')
class OutController {
  @Get('fail')
  fail(): never {
    throw new Error('out of cheese');
  }
  @Get('ok')
  ok(): { ok: true } {
    return { ok: true };
  }
}

async function start(options: TraceModuleOptions): Promise<INestApplication> {
  @Module({
    imports: [TraceModule.forRoot({ hungThresholdMs: 0, otel: { enabled: false }, ...options })],
    controllers: [OutController],
  })
  class AppModule {}
  const app = (await Test.createTestingModule({ imports: [AppModule] }).compile()).createNestApplication({
    logger: false,
  });
  await app.init();
  return app;
}

async function until<T>(read: () => T[], count: number): Promise<T[]> {
  const deadline = Date.now() + 5000;
  while (read().length < count && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
  return read();
}

describe('the output seam', () => {
  it('JSON lines go to the `stream` option, and `onReport` gets the very object the line holds', async () => {
    const capture = new ReportCapture();
    const seen: TraceRecord[] = [];
    const stdout = jest.spyOn(process.stdout, 'write');
    const app = await start({
      format: 'json',
      stream: capture,
      onReport: (record) => record.type === 'trace' && seen.push(record),
    });
    try {
      await request(app.getHttpServer()).get('/out/fail').expect(500);
      const [line] = await until(() => capture.rawLines, 1);
      expect(await until(() => seen, 1)).toHaveLength(1);
      expect(JSON.parse(line!)).toEqual(JSON.parse(JSON.stringify(seen[0])));
      expect(seen[0]).toMatchObject({
        type: 'trace',
        outcome: 'error',
        handler: 'OutController.fail',
        route: 'GET /out/fail',
      });
      // Nothing of it reached stdout.
      expect(stdout.mock.calls.some(([chunk]) => String(chunk).includes('"type":"trace"'))).toBe(false);
    } finally {
      stdout.mockRestore();
      await app.close();
    }
  });

  it('with text reports, `onReport` still gets the record while the logger gets the text', async () => {
    const logger = new MemoryLogger();
    const seen: TraceRecord[] = [];
    const app = await start({
      logger,
      logAll: true,
      onReport: (record) => record.type === 'trace' && seen.push(record),
    });
    try {
      await request(app.getHttpServer()).get('/out/ok').expect(200);
      const [record] = await until(() => seen, 1);
      expect(record).toMatchObject({ outcome: 'ok', handler: 'OutController.ok' });
      expect(logger.lines.some((line) => line.startsWith('log OK ') && line.includes(`trace=${record!.traceId}`))).toBe(
        true,
      );
    } finally {
      await app.close();
    }
  });

  it('an `onReport` that throws never reaches the app, is logged once, and the reports still go out', async () => {
    const logger = new MemoryLogger();
    const capture = new ReportCapture();
    let calls = 0;
    const app = await start({
      format: 'json',
      stream: capture,
      logger,
      onReport: () => {
        calls++;
        throw new Error('alerting is down');
      },
    });
    try {
      for (let i = 0; i < 5; i++) await request(app.getHttpServer()).get('/out/fail').expect(500);
      expect(await until(() => capture.reports, 5)).toHaveLength(5);
      expect(calls).toBe(5);
      const failures = logger.lines.filter((line) => line.includes('nestjs-trace: onReport failed'));
      expect(failures).toHaveLength(1);
      expect(failures[0]).toContain('alerting is down');
    } finally {
      await app.close();
    }
  });

  it.each([
    [{ stream: {} }, /"stream" must be a writable stream/],
    [{ onReport: 'console' }, /"onReport" must be a function/],
  ])('rejects %p at bootstrap with a message naming the option', async (options, message) => {
    await expect(start(options as TraceModuleOptions)).rejects.toThrow(message);
  });
});
