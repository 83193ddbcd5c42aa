import 'reflect-metadata';
import { Controller, Get, Injectable, Module, Query } from '@nestjs/common';
import type { INestApplication } from '@nestjs/common';
import { spawnSync } from 'node:child_process';
import inspector from 'node:inspector';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import type { Worker } from 'node:worker_threads';
import { Test } from '@nestjs/testing';
import request from 'supertest';
import { Trace, TraceModule } from '../../src/index.js';
import type { BlockedRecord, ReportRecord, TraceModuleOptions } from '../../src/index.js';
import { StallWatchdog } from '../../src/stall/stall-watchdog.js';
import { ReportCapture, sleep } from '../support/report-capture.js';
import { MemoryLogger } from '../support/memory-logger.js';

/**
 * Keeps the CPU busy for `ms` without yielding: the loop cannot turn. Nearly all of it in this function's own code:
 * the clock is read once per 100,000 iterations, because a stack read while inside `performance.now()` has Node's own
 * frames above `spinFor` (its brand check of `this` is three frames deep on Node 24: seen once in CI). `performance`
 * from node:perf_hooks, not Jest's global (a wrapped getter on Node 24, more frames of the same kind).
 */
function spinFor(ms: number): number {
  const end = performance.now() + ms;
  let n = 0;
  while (performance.now() < end) for (let i = 0; i < 100_000; i++) n += i & 1;
  return n;
}

@Injectable()
class MapService {
  @Trace()
  generateMap(ms: number): number {
    return spinFor(ms);
  }
}

@Controller('game')
class GameController {
  constructor(private readonly maps: MapService) {}

  @Get('map')
  map(@Query('ms') ms: string): { n: number } {
    return { n: this.maps.generateMap(Number(ms)) };
  }
}

async function start(options: TraceModuleOptions): Promise<INestApplication> {
  @Module({
    imports: [TraceModule.forRoot({ otel: { enabled: false }, format: 'json', ...options })],
    controllers: [GameController],
    providers: [MapService],
  })
  class AppModule {}
  const app = (await Test.createTestingModule({ imports: [AppModule] }).compile()).createNestApplication({
    logger: false,
  });
  await app.init();
  return app;
}

async function waitFor<T>(read: () => T[], count: number, timeoutMs = 5000): Promise<T[]> {
  const deadline = Date.now() + timeoutMs;
  while (read().length < count && Date.now() < deadline) await sleep(20);
  return read();
}

describe('the blocked-loop watchdog', () => {
  it("an app's own inspector session keeps working beside the watchdog (a profile across a block, in a plain process)", () => {
    // A plain Node process, not this jest worker: see the fixture for why.
    const fixture = fileURLToPath(new URL('./fixtures/own-inspector-session.mjs', import.meta.url));
    const run = spawnSync(process.execPath, [fixture], { encoding: 'utf8', timeout: 20_000 });
    expect(run.stderr).toBe('');
    const result = JSON.parse(run.stdout.trim()) as { profileNodes: number; evaluated: number; blockedTop: string[][] };
    expect(result.profileNodes).toBeGreaterThan(1);
    expect(result.evaluated).toBe(42);
    expect(result.blockedTop.filter((top) => top.includes('spinFor'))).toHaveLength(1);
  }, 30_000);

  it.each([
    ['a source map next to the compiled file', []],
    ['--enable-source-maps', ['--enable-source-maps']],
  ])(
    'frames point at the TypeScript source: %s',
    (_how, flags) => {
      const fixture = fileURLToPath(new URL('./fixtures/source-mapped-block.mjs', import.meta.url));
      const run = spawnSync(process.execPath, [...flags, fixture], { encoding: 'utf8', timeout: 20_000 });
      expect(run.stderr).toBe('');
      const result = JSON.parse(run.stdout.trim()) as {
        sourceFile: string;
        line: number;
        stack: { function: string; file: string; line: number }[] | null;
      };
      const own = result.stack?.find((frame) => frame.function === 'fillBoard');
      expect(own).toMatchObject({ file: result.sourceFile, line: result.line });
      expect(result.line).toBe(11);
    },
    30_000,
  );

  it('reports a block inside a handler: the blocking function on top, the trace and its span, and blockedMs on the trace', async () => {
    const capture = new ReportCapture();
    const seen: ReportRecord[] = [];
    const app = await start({
      stream: capture,
      slowThresholdMs: 300,
      blockedThresholdMs: 150,
      onReport: (record) => seen.push(record),
    });
    try {
      await sleep(200); // the worker starts
      await request(app.getHttpServer()).get('/game/map?ms=600').expect(200);
      const ours = (): BlockedRecord[] => capture.blocked.filter((b) => b.trace?.handler === 'GameController.map');
      const [blocked] = await waitFor(ours, 1);
      const [slow] = await capture.waitFor((r) => r.handler === 'GameController.map');
      expect(blocked).toBeDefined();
      const record = blocked as BlockedRecord;
      expect(record.blockedMs).toBeGreaterThanOrEqual(450);
      expect(record.blockedMs).toBeLessThan(1500);
      expect(record.stack.slice(0, 3).map((frame) => frame.function)).toContain('spinFor');
      expect(record.stack.map((frame) => frame.function)).toContain('MapService.generateMap');
      const own = record.stack.find((frame) => !frame.file.startsWith('node:'));
      expect(own).toMatchObject({ function: 'spinFor', file: expect.stringMatching(/stall\.e2e-spec\.ts$/) });
      expect(record.stack.length).toBeLessThanOrEqual(20);
      expect(record.trace).toEqual({
        traceId: slow!.traceId,
        transport: 'http',
        handler: 'GameController.map',
        route: 'GET /game/map',
        span: 'MapService.generateMap',
      });
      expect(Array.isArray(record.gc)).toBe(true);
      expect(record.metrics?.cpu).toBeDefined();
      expect(slow!.blockedMs).toBeGreaterThanOrEqual(450);
      expect(ours()).toHaveLength(1);
      expect(seen.filter((r) => r.type === 'blocked')).toHaveLength(capture.blocked.length);
    } finally {
      await app.close();
    }
  });

  it('reports a block outside any trace with trace null, and nothing while the loop keeps turning', async () => {
    const capture = new ReportCapture();
    const app = await start({ stream: capture, blockedThresholdMs: 150 });
    try {
      await sleep(200);
      // Busy, but yielding every 50 ms: never blocked beyond the threshold.
      for (let i = 0; i < 10; i++) {
        spinFor(50);
        await sleep(1);
      }
      await sleep(300);
      // The test machine may block the loop elsewhere (jest compiling a module): only blocks in spinFor are ours.
      const ours = (): BlockedRecord[] => capture.blocked.filter((b) => b.stack.some((f) => f.function === 'spinFor'));
      expect(ours()).toEqual([]);
      spinFor(500);
      const [record] = await waitFor(ours, 1);
      expect(record?.trace).toBeNull();
      expect(record?.stack.slice(0, 3).map((frame) => frame.function)).toContain('spinFor');
    } finally {
      await app.close();
    }
  });

  it('the worker is gone after app.close(), and `false` starts none', async () => {
    const app = await start({ blockedThresholdMs: 150 });
    const watchdog = app.get(StallWatchdog);
    expect(watchdog.running).toBe(true);
    await app.close();
    expect(watchdog.running).toBe(false);
    const off = await start({ blockedThresholdMs: false });
    expect(off.get(StallWatchdog).running).toBe(false);
    await off.close();
  });

  it('a worker that dies is logged once, the watchdog stops, and the app keeps serving', async () => {
    const logger = new MemoryLogger();
    const app = await start({ logger, blockedThresholdMs: 150 });
    try {
      const watchdog = app.get(StallWatchdog);
      await (watchdog as unknown as { worker: Worker }).worker.terminate();
      await sleep(100);
      expect(watchdog.running).toBe(false);
      expect(logger.lines.filter((line) => line.includes('stall watchdog worker failed'))).toHaveLength(1);
      await request(app.getHttpServer()).get('/game/map?ms=1').expect(200);
    } finally {
      await app.close();
    }
  });

  it('under a debugger (--inspect) blocks are reported with their stack, and nothing is logged about it', async () => {
    inspector.open(0, '127.0.0.1');
    const logger = new MemoryLogger();
    const capture = new ReportCapture();
    const app = await start({ logger, stream: capture, blockedThresholdMs: 150 });
    try {
      await sleep(200);
      spinFor(500);
      const [record] = await waitFor(() => capture.blocked.filter((b) => b.blockedMs >= 400), 1);
      expect(record?.stack.slice(0, 3).map((frame) => frame.function)).toContain('spinFor');
      expect(record?.stackUnavailable).toBeUndefined();
      expect(logger.lines.filter((line) => line.includes('nestjs-trace'))).toEqual([]);
    } finally {
      await app.close();
      inspector.close();
    }
  });
});
