import os from 'node:os';
import v8 from 'node:v8';
import type { TestingModule } from '@nestjs/testing';
import { SystemMetricsService } from '../../../src/metrics/system-metrics.service.js';
import type { CpuMetrics, EventLoopMetrics, MemoryMetrics } from '../../../src/trace.types.js';
import { createMetricsApp } from './helpers/metrics-app.js';
import { freshSnapshot, ok, sleep } from './helpers/snapshots.js';

function spin(ms: number): void {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    // busy on purpose
  }
}

describe('CPU, memory and event-loop probes (real process, real clock)', () => {
  let app: TestingModule;
  let service: SystemMetricsService;

  beforeAll(async () => {
    app = await createMetricsApp({ typeorm: false, redis: false });
    service = app.get(SystemMetricsService);
    await sleep(1100);
  });
  afterAll(async () => {
    await app.close();
  });

  it('without MySQL or Redis in the app, those sections are null', async () => {
    const metrics = await service.snapshot();
    expect(metrics.mysql).toBeNull();
    expect(metrics.redis).toBeNull();
    expect(new Date(metrics.takenAt).toISOString()).toBe(metrics.takenAt);
  });

  it('a 1 s busy loop raises processPercent well above the idle reading', async () => {
    await sleep(1100);
    const idle = ok<CpuMetrics>((await freshSnapshot(service)).metrics.cpu);
    const before = process.cpuUsage();
    spin(1000);
    const spent = process.cpuUsage(before);
    // Right away (the idle snapshot is more than the reuse window old): the window ends with the busy second.
    const busy = ok<CpuMetrics>((await service.snapshot()).cpu);
    expect(busy.cores).toBe(os.availableParallelism());
    // Ground truth: the CPU time the spin really got (a loaded machine gives it less than a full core) over the window.
    const truth = ((spent.user + spent.system) / 1000 / (busy.windowMs as number)) * 100;
    expect(busy.processCorePercent as number).toBeGreaterThanOrEqual(truth * 0.9);
    expect(busy.processCorePercent as number).toBeLessThanOrEqual(Math.max(truth * 1.5, truth + 25));
    expect(busy.processPercent).toBeCloseTo((busy.processCorePercent as number) / busy.cores, 0);
    expect(busy.processPercent).toBeGreaterThan(idle.processPercent);
    expect(busy.systemPercent).toBeGreaterThanOrEqual(busy.processPercent * 0.5);
    expect(busy.windowMs as number).toBeGreaterThanOrEqual(1000);
    expect(busy.loadAverage).toHaveLength(3);
  });

  it('an event loop blocked for 200 ms shows in delayP99Ms (≥ 150) and in utilization', async () => {
    await sleep(1100);
    spin(200);
    const metrics = await service.snapshot();
    const loop = ok<EventLoopMetrics>(metrics.eventLoop);
    expect(loop.delayP99Ms).toBeGreaterThanOrEqual(150);
    expect(loop.delayMaxMs as number).toBeGreaterThanOrEqual(150);
    expect(loop.delayP50Ms as number).toBeLessThan(loop.delayP99Ms);
    expect(loop.utilization).toBeGreaterThan(0.15);
    expect(loop.utilization).toBeLessThanOrEqual(1);
  });

  it('an idle event loop reports small delays', async () => {
    await sleep(1300);
    const loop = ok<EventLoopMetrics>((await freshSnapshot(service)).metrics.eventLoop);
    expect(loop.delayP50Ms as number).toBeLessThan(20);
    expect(loop.utilization).toBeLessThan(0.5);
  });

  it("memory: host numbers add up, heapLimitMB is V8's heap_size_limit, all finite", async () => {
    const memory = ok<MemoryMetrics>((await freshSnapshot(service)).metrics.memory);
    const { system, process: proc } = memory;
    expect(Math.abs(system.usedMB + system.freeMB - system.totalMB)).toBeLessThanOrEqual(0.2);
    expect(system.totalMB).toBeCloseTo(os.totalmem() / 1024 / 1024, 0);
    expect(proc.heapLimitMB).toBeCloseTo(v8.getHeapStatistics().heap_size_limit / 1024 / 1024, 0);
    expect(proc.heapUsedMB).toBeLessThanOrEqual(proc.heapTotalMB);
    expect(proc.rssMB).toBeGreaterThan(proc.heapUsedMB * 0.5);
    for (const value of [...Object.values(system), ...Object.values(proc)]) {
      if (typeof value === 'number') expect(Number.isFinite(value)).toBe(true);
    }
  });
});
