import 'reflect-metadata';
import { Controller, Get, Injectable, Module, Query } from '@nestjs/common';
import type { INestApplication } from '@nestjs/common';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import inspector from 'node:inspector';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { Test } from '@nestjs/testing';
import request from 'supertest';
import { Trace, TraceModule } from '../../src/index.js';
import { CpuProfiler } from '../../src/profile/cpu-profiler.js';
import type { BlockedRecord, TraceModuleOptions, TraceRecord } from '../../src/index.js';
import { MemoryLogger } from '../support/memory-logger.js';
import { ReportCapture, sleep } from '../support/report-capture.js';

/** Pure CPU work in a function of its own name, so the profile can be searched for it. */
function crunchNumbers(iterations: number): number {
  let x = 0;
  for (let i = 1; i <= iterations; i++) x += Math.sqrt(i) * Math.sin(i);
  return x;
}

/** Keeps the CPU busy for `ms` without yielding: the loop cannot turn. */
function spinFor(ms: number): void {
  const end = performance.now() + ms;
  while (performance.now() < end) crunchNumbers(1000);
}

/**
 * Set by a test that needs the handler to be working for the whole recording: the handler goes on while it says so
 * (at most {@link MAX_WORK_MS}). On a loaded machine, V8 may take a second or more to start the profiler under jest.
 */
let keepWorking: (() => boolean) | undefined;
const MAX_WORK_MS = 15_000;

@Injectable()
class ReportService {
  /** CPU work for `ms` in 20 ms slices with a turn of the loop between them: slow, but never a blocked loop. */
  @Trace()
  async build(ms: number): Promise<number> {
    const start = performance.now();
    const end = start + ms;
    let sum = 0;
    while (
      performance.now() < end ||
      (keepWorking !== undefined && keepWorking() && performance.now() - start < MAX_WORK_MS)
    ) {
      const slice = performance.now() + 20;
      while (performance.now() < slice) sum += crunchNumbers(20_000);
      await nextTurn();
    }
    return sum;
  }
}

@Controller('reports')
class ReportsController {
  constructor(private readonly reports: ReportService) {}

  @Get('build')
  async build(@Query('ms') ms: string): Promise<{ ok: boolean }> {
    await this.reports.build(Number(ms));
    return { ok: true };
  }

  /** Blocks the loop for `block` ms, then keeps working for `ms` (still running when the block's report comes). */
  @Get('block')
  async block(@Query('block') block: string, @Query('ms') ms: string): Promise<{ ok: boolean }> {
    spinFor(Number(block));
    await this.reports.build(Number(ms));
    return { ok: true };
  }
}

async function start(options: TraceModuleOptions): Promise<INestApplication> {
  @Module({
    imports: [
      TraceModule.forRoot({
        format: 'json',
        otel: { enabled: false },
        slowThresholdMs: 200,
        hungThresholdMs: 0,
        blockedThresholdMs: false,
        ...options,
      }),
    ],
    controllers: [ReportsController],
    providers: [ReportService],
  })
  class AppModule {}
  const app = (await Test.createTestingModule({ imports: [AppModule] }).compile()).createNestApplication({
    logger: false,
  });
  await app.init();
  return app;
}

interface ProfileFile {
  nodes: { callFrame: { functionName: string } }[];
  samples: number[];
  timeDeltas: number[];
}

describe('CPU profile at the moment of slowness (option `profile`)', () => {
  let dir: string;

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'nestjs-trace-profile-'));
  });

  afterEach(() => {
    keepWorking = undefined;
    rmSync(dir, { recursive: true, force: true });
  });

  /** Until the next profile has been recorded: true before it starts and while it records. */
  function untilProfiled(app: INestApplication): () => boolean {
    const profiler = app.get(CpuProfiler);
    let started = false;
    return () => {
      if (profiler.busy) started = true;
      return !started || profiler.busy;
    };
  }

  it('profiles a handler that runs past slowThresholdMs: the file opens as a .cpuprofile and top names the hot function', async () => {
    const capture = new ReportCapture();
    const app = await start({ stream: capture, profile: { dir: join(dir, 'profiles'), durationMs: 500 } });
    try {
      keepWorking = untilProfiled(app);
      await request(app.getHttpServer()).get('/reports/build?ms=400').expect(200);
      const [report] = await capture.waitFor((r) => r.handler === 'ReportsController.build');
      const record = report as TraceRecord;
      expect(record.outcome).toBe('slow');
      const profile = record.profile;
      expect(profile).toBeDefined();
      // The directory did not exist: it was created.
      expect(profile?.file).toBe(join(dir, 'profiles', `${record.traceId}.cpuprofile`));
      expect(profile?.error).toBeUndefined();
      expect(profile?.durationMs).toBeGreaterThanOrEqual(450);
      expect(profile?.durationMs).toBeLessThan(2000);
      expect(Date.parse(profile?.startedAt ?? '')).not.toBeNaN();

      const file = JSON.parse(readFileSync(profile?.file ?? '', 'utf8')) as ProfileFile;
      expect(file.nodes.length).toBeGreaterThan(1);
      // Under jest the first samples come late (V8 first lists the many functions jest compiled): a few are enough.
      expect(file.samples.length).toBeGreaterThan(10);
      expect(file.timeDeltas).toHaveLength(file.samples.length);
      expect(file.nodes.some((n) => n.callFrame.functionName === 'crunchNumbers')).toBe(true);

      expect(profile?.top.length).toBeLessThanOrEqual(10);
      const hot = profile?.top.find((f) => f.function === 'crunchNumbers');
      expect(hot).toMatchObject({ file: expect.stringMatching(/profile\.e2e-spec\.ts$/) });
      expect(hot?.line).toBeGreaterThan(0);
      expect(hot?.selfMs).toBeGreaterThan(0);
      const selfTimes = profile?.top.map((f) => f.selfMs) ?? [];
      expect(selfTimes).toEqual([...selfTimes].sort((a, b) => b - a));
      expect(profile?.top.map((f) => f.function)).not.toContain('(idle)');
    } finally {
      await app.close();
    }
  });

  it('takes at most maxPerHour profiles: with 1, the second slow request gets none', async () => {
    const capture = new ReportCapture();
    const app = await start({ stream: capture, profile: { dir, durationMs: 200, maxPerHour: 1 } });
    try {
      keepWorking = untilProfiled(app);
      await request(app.getHttpServer()).get('/reports/build?ms=400').expect(200);
      keepWorking = undefined;
      await request(app.getHttpServer()).get('/reports/build?ms=600').expect(200);
      const [first, second] = await capture.waitFor((r) => r.handler === 'ReportsController.build', 2);
      expect(first?.outcome).toBe('slow');
      expect(second?.outcome).toBe('slow');
      expect(first?.profile?.file).toBe(join(dir, `${first?.traceId}.cpuprofile`));
      expect(second?.profile).toBeUndefined();
      expect(readdirSync(dir)).toEqual([`${first?.traceId}.cpuprofile`]);
    } finally {
      await app.close();
    }
  });

  it('under a debugger (--inspect) too: the library records through a session of its own', async () => {
    inspector.open(0, '127.0.0.1');
    const capture = new ReportCapture();
    const logger = new MemoryLogger();
    const app = await start({ stream: capture, logger, profile: { dir, durationMs: 200 } });
    try {
      keepWorking = untilProfiled(app);
      await request(app.getHttpServer()).get('/reports/build?ms=400').expect(200);
      const [report] = await capture.waitFor((r) => r.handler === 'ReportsController.build');
      expect(report?.profile?.file).toBe(join(dir, `${report?.traceId}.cpuprofile`));
      expect(existsSync(report?.profile?.file ?? '')).toBe(true);
      expect(logger.lines.filter((line) => line.includes('cpu profile'))).toEqual([]);
    } finally {
      await app.close();
      inspector.close();
    }
  });

  it('is off by default: no profile, no file', async () => {
    const capture = new ReportCapture();
    const app = await start({ stream: capture });
    try {
      await request(app.getHttpServer()).get('/reports/build?ms=400').expect(200);
      const [report] = await capture.waitFor((r) => r.handler === 'ReportsController.build');
      expect(report?.outcome).toBe('slow');
      expect(report).not.toHaveProperty('profile');
    } finally {
      await app.close();
    }
  });

  it('after a blocked loop inside a trace that is still running: the blocked report and the trace share its profile', async () => {
    const capture = new ReportCapture();
    const app = await start({
      stream: capture,
      blockedThresholdMs: 150,
      // Above the block, so that the blocked trace is profiled by the block's end, not by the sweep.
      slowThresholdMs: 2000,
      profile: { dir, durationMs: 300 },
    });
    try {
      // The watchdog's worker starts. A block at start-up (jest compiling, a loaded machine) gets a profile of its
      // own: one at a time, so ours must wait until that one is done.
      await sleep(500);
      const profiler = app.get(CpuProfiler);
      while (profiler.busy) await sleep(20);
      await request(app.getHttpServer()).get('/reports/block?block=500&ms=1800').expect(200);
      const ours = (): BlockedRecord[] => capture.blocked.filter((b) => b.trace?.handler === 'ReportsController.block');
      const [report] = await capture.waitFor((r) => r.handler === 'ReportsController.block');
      const deadline = Date.now() + 5000;
      while (ours().length === 0 && Date.now() < deadline) await sleep(20);
      const [blocked] = ours();
      expect(report?.outcome).toBe('slow');
      expect(blocked?.trace?.traceId).toBe(report?.traceId);
      expect(blocked?.profile?.file).toBe(join(dir, `${report?.traceId}.cpuprofile`));
      expect(report?.profile).toEqual(blocked?.profile);
      // Recorded after the block, while the handler kept working.
      expect(Date.parse(blocked?.profile?.startedAt ?? '')).toBeGreaterThanOrEqual(Date.parse(blocked?.at ?? ''));
      expect(blocked?.profile?.top.map((f) => f.function)).toContain('crunchNumbers');
      expect(existsSync(blocked?.profile?.file ?? '')).toBe(true);
    } finally {
      await app.close();
    }
  }, 20_000);

  it('a directory that cannot be written: the report keeps top and says why, the failure is logged once', async () => {
    const notADir = join(dir, 'a-file');
    writeFileSync(notADir, '');
    const capture = new ReportCapture();
    const logger = new MemoryLogger();
    const app = await start({ stream: capture, logger, profile: { dir: notADir, durationMs: 200 } });
    try {
      await request(app.getHttpServer()).get('/reports/build?ms=500').expect(200);
      await request(app.getHttpServer()).get('/reports/build?ms=500').expect(200);
      const reports = await capture.waitFor((r) => r.handler === 'ReportsController.build', 2);
      for (const report of reports) {
        expect(report.profile?.error).toMatch(/^not written: E(EXIST|NOTDIR): .*a-file/);
        expect(report.profile?.top.length).toBeGreaterThan(0);
      }
      expect(logger.lines.filter((line) => line.includes('cpu profile (write) failed'))).toHaveLength(1);
    } finally {
      await app.close();
    }
  });

  it('app.close() ends a recording early: the report waiting for it is written with what was recorded', async () => {
    const capture = new ReportCapture();
    const app = await start({ stream: capture, profile: { dir, durationMs: 30_000 } });
    let closed = false;
    try {
      await request(app.getHttpServer()).get('/reports/build?ms=500').expect(200);
      const started = Date.now();
      await app.close();
      closed = true;
      const [report] = await capture.waitFor((r) => r.handler === 'ReportsController.build', 1, 3000);
      expect(Date.now() - started).toBeLessThan(5000);
      expect(report?.profile?.durationMs).toBeLessThan(5000);
      expect(existsSync(report?.profile?.file ?? '')).toBe(true);
    } finally {
      if (!closed) await app.close();
    }
  });
});
