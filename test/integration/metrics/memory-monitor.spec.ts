import { execFileSync } from 'node:child_process';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import type { LoggerService } from '@nestjs/common';
import type { TestingModule } from '@nestjs/testing';
import { MemoryMonitorService } from '../../../src/metrics/memory-monitor.service.js';
import type { TraceMemoryMonitorOptions } from '../../../src/trace.options.js';
import { createMetricsApp } from './helpers/metrics-app.js';
import { sleep } from './helpers/snapshots.js';

/** `gc()` (the suite runs with --expose-gc; Jest's sandbox may not pass the global through). */
function gcFunction(): () => void {
  const exposed = (globalThis as { gc?: () => void }).gc;
  if (exposed) return exposed;
  setFlagsFromString('--expose-gc');
  return runInNewContext('gc') as () => void;
}
const gc = gcFunction();

class CapturingLogger implements LoggerService {
  readonly warnings: string[] = [];
  log(): void {}
  error(): void {}
  warn(message: unknown): void {
    this.warnings.push(String(message));
  }
}

/** A full GC, then a turn of the event loop so the GC observer has recorded the heap after it. */
async function collect(): Promise<void> {
  gc();
  await sleep(20);
}

describe('memory-leak monitor (real heap, real GC)', () => {
  let app: TestingModule | undefined;
  let logger: CapturingLogger;

  async function monitor(options: TraceMemoryMonitorOptions | undefined): Promise<MemoryMonitorService> {
    logger = new CapturingLogger();
    // A long interval: the test drives the checks itself.
    app = await createMetricsApp({ typeorm: false, redis: false, trace: { logger, memoryMonitor: options } });
    return app.get(MemoryMonitorService);
  }

  afterEach(async () => {
    await app?.close();
    app = undefined;
  });

  it('warns, with the numbers, when heap after GC keeps rising (a synthetic leak; child process, built package)', () => {
    // The monitor reads the whole heap. Under `jest --runInBand` that heap also holds what the files before this one
    // left (115 to 500 MB in our runs), and their leftovers are freed on their own schedule (sockets closing, timers
    // firing): freeing more than one leak step (~8 MB) between two samples rightly ends the rising streak, and there
    // is no warning. So the leak runs in a process whose heap holds nothing else.
    const output = execFileSync(
      process.execPath,
      ['--expose-gc', 'test/integration/metrics/fixtures/synthetic-leak.mjs'],
      {
        encoding: 'utf8',
        timeout: 30_000,
      },
    );
    const result = JSON.parse(output.trim()) as { afterGcMB: (number | null)[]; warnings: string[]; leaked: number };
    expect(result.afterGcMB).toHaveLength(4);
    expect(result.afterGcMB).not.toContain(null);
    expect(result.warnings).toHaveLength(1);
    expect(result.warnings[0]).toMatch(
      /^nestjs-trace: possible memory leak: heap after GC rose 3 times in a row, [\d.]+ MB → [\d.]+ MB \(one sample every 600000 ms\)$/,
    );
    const [, from, to] = /, ([\d.]+) MB → ([\d.]+) MB/.exec(result.warnings[0] as string) ?? [];
    expect(Number(to) - Number(from)).toBeGreaterThan(10);
    expect(result.leaked).toBe(3);
  });

  it('stays quiet on a steady heap (same allocations, released each time)', async () => {
    const service = await monitor({ intervalMs: 600_000, growthSamples: 3, heapLimitPercent: 99 });
    for (let i = 0; i < 6; i += 1) {
      // Allocated and dropped right away.
      expect(Array.from({ length: 100_000 }, (_, n) => ({ n, i, text: `garbage ${n}` }))).toHaveLength(100_000);
      await collect();
      service.check();
    }
    expect(logger.warnings).toEqual([]);
  }, 30_000);

  it('warns once when heap use crosses heapLimitPercent of heap_size_limit (not of heapTotal)', async () => {
    const service = await monitor({ intervalMs: 600_000, growthSamples: 5, heapLimitPercent: 1 });
    const first = service.check();
    expect(first.heapLimitPercent).toBeGreaterThanOrEqual(1);
    expect(logger.warnings).toEqual([
      expect.stringMatching(
        /^nestjs-trace: heap use is [\d.]+ MB of the [\d.]+ MB V8 heap limit \([\d.]+%, warning at 1%\)$/,
      ),
    ]);
    service.check();
    expect(logger.warnings).toHaveLength(1);
  });

  it('does not warn near heapTotal: a healthy heap is far below an 85% limit', async () => {
    const service = await monitor({ intervalMs: 600_000, growthSamples: 5, heapLimitPercent: 85 });
    const result = service.check();
    expect(result.heapLimitPercent).toBeLessThan(85);
    expect(logger.warnings).toEqual([]);
  });

  it("runs on its own timer (unref'd) and stops on shutdown", async () => {
    await monitor({ intervalMs: 50, growthSamples: 5, heapLimitPercent: 1 });
    await sleep(200);
    expect(logger.warnings).toHaveLength(1);
    await app?.close();
    app = undefined;
    const count = logger.warnings.length;
    await sleep(200);
    expect(logger.warnings).toHaveLength(count);
  });

  it('is off when memoryMonitor is not given', async () => {
    const service = await monitor(undefined);
    await collect();
    // No GC observer: no after-GC reading, and no timer ever warns.
    expect(service.check().afterGcMB).toBeNull();
    expect(logger.warnings).toEqual([]);
  });
});
