import 'reflect-metadata';
import { Controller, Get, HttpException, Injectable, Module, NotFoundException, Query } from '@nestjs/common';
import type { INestApplication, LoggerService } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import request from 'supertest';
import { SystemMetricsService, Trace, TraceContext, TraceModule } from '../../src/index.js';
import type { TraceModuleOptions } from '../../src/index.js';
import { ReportCapture, sleep } from '../support/report-capture.js';

/** Reports reach the test through the library's output seam (`stream`), never through stdout. */
const capture = new ReportCapture();

@Trace()
@Injectable()
class TickService {
  tick(): number {
    return 1;
  }
  async stuck(ms: number): Promise<void> {
    await this.inner(ms);
  }
  async inner(ms: number): Promise<void> {
    await sleep(ms);
  }
}

@Controller()
class TickController {
  constructor(private readonly ticks: TickService) {}
  @Get('many')
  many(): { total: number } {
    let total = 0;
    for (let i = 0; i < 10_000; i++) total += this.ticks.tick();
    return { total };
  }
  @Get('stuck')
  async stuck(): Promise<{ ok: true }> {
    await this.ticks.stuck(700);
    return { ok: true };
  }
  @Get('fast')
  fast(): { ok: true } {
    return { ok: true };
  }
  @Get('missing')
  async missing(@Query('ms') ms?: string): Promise<never> {
    await sleep(Number(ms ?? 0));
    throw new NotFoundException('no such room');
  }
  @Get('broken')
  broken(): never {
    throw new Error('database on fire');
  }
}

class MemoryLogger implements LoggerService {
  readonly lines: { level: string; message: string }[] = [];
  log(message: unknown): void {
    this.lines.push({ level: 'log', message: String(message) });
  }
  warn(message: unknown): void {
    this.lines.push({ level: 'warn', message: String(message) });
  }
  error(message: unknown): void {
    this.lines.push({ level: 'error', message: String(message) });
  }
}

async function createApp(options: TraceModuleOptions): Promise<INestApplication> {
  @Module({
    imports: [TraceModule.forRoot({ stream: capture, ...options })],
    controllers: [TickController],
    providers: [TickService],
  })
  class AppModule {}
  const app = (await Test.createTestingModule({ imports: [AppModule] }).compile()).createNestApplication({
    logger: false,
  });
  await app.init();
  return app;
}

describe('TraceModule', () => {
  beforeEach(() => capture.clear());

  it('keeps maxSpans spans of a handler that calls a traced method 10,000 times and counts the rest', async () => {
    const app = await createApp({ format: 'json', maxSpans: 100, logAll: true });
    try {
      await request(app.getHttpServer()).get('/many').expect(200, { total: 10_000 });
      const [record] = await capture.waitFor((r) => r.handler === 'TickController.many');
      expect(record!.spans).toHaveLength(100);
      expect(record!.droppedSpans).toBe(10_000 - 99);
      expect(record!.spans.slice(1).every((s) => s.name === 'TickService.tick' && s.depth === 1)).toBe(true);
    } finally {
      await app.close();
    }
  });

  it('writes text reports through the given logger, slow as warn', async () => {
    const logger = new MemoryLogger();
    const app = await createApp({ logger, slowThresholdMs: 0, hungThresholdMs: 0 });
    try {
      await request(app.getHttpServer()).get('/fast').expect(200);
      // A block of the shared Jest process is reported by every app alive (a blocked loop is the process's): not counted.
      const reports = (): typeof logger.lines => logger.lines.filter((l) => !l.message.startsWith('BLOCKED'));
      for (let i = 0; i < 100 && reports().length === 0; i++) await sleep(20);
      expect(reports()).toHaveLength(1);
      const [line] = reports();
      expect(line!.level).toBe('warn');
      const text = line!.message.split('\n');
      expect(text[0]).toMatch(/^SLOW \d+\.\dms {2}http GET \/fast {2}TickController\.fast {2}trace=[0-9a-f]{32}$/);
      expect(text[1]).toMatch(/^TickController\.fast {2}\d+\.\dms$/);
      expect(text[2]).toMatch(/^cpu \d+% \(process \d+%\) {2}mem \d+%/);
    } finally {
      await app.close();
    }
  });

  it('reports a hung handler once while it runs, with its partial tree, then its slow report', async () => {
    const app = await createApp({ format: 'json', slowThresholdMs: 100, hungThresholdMs: 300 });
    try {
      // supertest sends on then(): start the request now, await it later.
      const response = request(app.getHttpServer())
        .get('/stuck')
        .then((r) => r);
      const [hung] = await capture.waitFor((r) => r.outcome === 'hung', 1, 3000);
      expect(hung).toMatchObject({ handler: 'TickController.stuck', route: 'GET /stuck' });
      expect(hung!.durationMs).toBeGreaterThanOrEqual(250);
      expect(hung!.spans.map((s) => [s.name, s.unfinished])).toEqual([
        ['TickController.stuck', true],
        ['TickService.stuck', true],
        ['TickService.inner', true],
      ]);
      expect(hung!.metrics?.eventLoop).toBeDefined();
      expect((await response).status).toBe(200);
      const [slow] = await capture.waitFor((r) => r.outcome === 'slow');
      expect(slow!.traceId).toBe(hung!.traceId);
      expect(slow!.spans.some((s) => s.unfinished)).toBe(false);
      expect(capture.reports.filter((r) => r.outcome === 'hung')).toHaveLength(1);
    } finally {
      await app.close();
    }
  });

  it('reports TraceContext.run roots as transport manual', async () => {
    const app = await createApp({ format: 'json', slowThresholdMs: 50 });
    try {
      const ticks = app.get(TickService);
      const result = await TraceContext.run('nightly-cleanup', async () => {
        await ticks.stuck(80);
        return 'done';
      });
      expect(result).toBe('done');
      // Its final report (on a loaded machine a hung report may come first: hung is 5 × slowThresholdMs here).
      const [record] = await capture.waitFor((r) => r.transport === 'manual' && r.outcome !== 'hung');
      expect(record).toMatchObject({ handler: 'nightly-cleanup', route: 'nightly-cleanup', outcome: 'slow' });
      expect(record!.spans.map((s) => s.name)).toEqual(['nightly-cleanup', 'TickService.stuck', 'TickService.inner']);
    } finally {
      await app.close();
    }
  });

  it('forRootAsync takes options from a factory with injected config', async () => {
    @Injectable()
    class Config {
      get(): TraceModuleOptions {
        return { format: 'json', logAll: true, stream: capture };
      }
    }
    @Module({ providers: [Config], exports: [Config] })
    class ConfigModule {}
    @Module({
      imports: [
        TraceModule.forRootAsync({
          imports: [ConfigModule],
          inject: [Config],
          useFactory: (config: Config) => config.get(),
        }),
      ],
      controllers: [TickController],
      providers: [TickService],
    })
    class AsyncModule {}
    const app = (await Test.createTestingModule({ imports: [AsyncModule] }).compile()).createNestApplication({
      logger: false,
    });
    await app.init();
    try {
      await request(app.getHttpServer()).get('/fast').expect(200);
      const [record] = await capture.waitFor((r) => r.handler === 'TickController.fast');
      expect(record!.outcome).toBe('ok');
    } finally {
      await app.close();
    }
  });

  it.each([
    [{ slowThresholdMs: -5 }, /option "slowThresholdMs" must be a number ≥ 0 \(got -5\)/],
    [{ format: 'yaml' }, /option "format" must be one of 'text', 'json'/],
    [{ maxSpans: 0 }, /option "maxSpans" must be an integer ≥ 1/],
    [{ dataSource: 'NO_SUCH_TOKEN' }, /option "dataSource"/],
  ])('fails at bootstrap on bad options %p', async (options, message) => {
    @Module({ imports: [TraceModule.forRoot(options as TraceModuleOptions)] })
    class BadModule {}
    await expect(
      Test.createTestingModule({ imports: [BadModule] })
        .compile()
        .then((m) => m.createNestApplication({ logger: false }).init()),
    ).rejects.toThrow(message);
  });

  it('ignoreErrors: ignored errors are reported by duration, the others as errors; a throwing predicate counts as not ignored', async () => {
    const ignoreErrors = (error: unknown): boolean => {
      if (error instanceof Error && error.message === 'database on fire') throw new Error('predicate bug');
      return error instanceof HttpException && error.getStatus() < 500;
    };
    const app = await createApp({ format: 'json', slowThresholdMs: 100, hungThresholdMs: 0, ignoreErrors });
    try {
      await request(app.getHttpServer()).get('/missing').expect(404);
      await request(app.getHttpServer()).get('/missing?ms=120').expect(404);
      await request(app.getHttpServer()).get('/broken').expect(500);
      const [slow] = await capture.waitFor((r) => r.route === 'GET /missing');
      const [broken] = await capture.waitFor((r) => r.route === 'GET /broken');
      await sleep(100);
      expect(capture.reports.filter((r) => r.route === 'GET /missing')).toHaveLength(1);
      expect(slow).toMatchObject({ outcome: 'slow' });
      expect(slow!.error).toBeUndefined();
      expect(slow!.spans[0]!.error).toBe('no such room');
      expect(broken).toMatchObject({ outcome: 'error', error: { message: 'database on fire' } });
    } finally {
      await app.close();
    }
  });
});

describe('TraceModule isGlobal', () => {
  @Injectable()
  class NeedsMetrics {
    constructor(readonly metrics: SystemMetricsService) {}
  }
  @Module({ providers: [NeedsMetrics] })
  class FeatureModule {}

  it('is global by default: any module can inject SystemMetricsService', async () => {
    const moduleRef = await Test.createTestingModule({
      imports: [TraceModule.forRoot({ stream: capture }), FeatureModule],
    }).compile();
    expect(moduleRef.get(NeedsMetrics).metrics).toBeInstanceOf(SystemMetricsService);
    await moduleRef.close();
  });

  it('with isGlobal: false only importing modules can, and handlers are still traced', async () => {
    await expect(
      Test.createTestingModule({
        imports: [TraceModule.forRoot({ isGlobal: false, stream: capture }), FeatureModule],
      }).compile(),
    ).rejects.toThrow(/SystemMetricsService/);
    capture.clear();
    const app = await createApp({ isGlobal: false, format: 'json', logAll: true } as TraceModuleOptions);
    try {
      await request(app.getHttpServer()).get('/fast').expect(200);
      await capture.waitFor((r) => r.handler === 'TickController.fast');
    } finally {
      await app.close();
    }
  });
});
