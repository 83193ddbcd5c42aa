import { afterEach, describe, expect, it } from '@jest/globals';
import { FailureLog } from '../../../src/report/failure-log.js';
import { ReportOutput } from '../../../src/output/report-output.js';
import type { CpuProfiler } from '../../../src/profile/cpu-profiler.js';
import { resolveOptions } from '../../../src/resolve-options.js';
import { StallWatchdog } from '../../../src/stall/stall-watchdog.js';
import type { MetricsSource } from '../../../src/report/trace-reporter.js';

const options = resolveOptions({
  blockedThresholdMs: 200,
  logger: { log: () => undefined, error: () => undefined, warn: () => undefined },
});
const metrics = { snapshot: () => Promise.resolve({}) } as unknown as MetricsSource;

describe('StallWatchdog start-up', () => {
  let watchdog: StallWatchdog | undefined;
  afterEach(async () => {
    await watchdog?.onModuleDestroy();
  });

  it("starts only after the CPU profiler's warm-up, whose Profiler.start blocks the loop by itself", async () => {
    let warmedUp!: () => void;
    const ready = new Promise<void>((resolve) => (warmedUp = resolve));
    const profiler = { ready: () => ready } as unknown as CpuProfiler;
    const failures = new FailureLog(options);
    watchdog = new StallWatchdog(options, metrics, new ReportOutput(options, failures), failures, profiler);
    const started = watchdog.onApplicationBootstrap();
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(watchdog.running).toBe(false);
    warmedUp();
    await started;
    expect(watchdog.running).toBe(true);
  });
});
