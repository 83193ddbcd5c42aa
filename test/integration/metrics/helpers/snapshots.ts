import { performance } from 'node:perf_hooks';
import type { SystemMetricsService } from '../../../../src/metrics/system-metrics.service.js';
import { SNAPSHOT_REUSE_MS } from '../../../../src/metrics/system-metrics.service.js';
import type { ProbeError, SystemMetrics } from '../../../../src/trace.types.js';

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** A snapshot that is not a reused one: waits out the reuse window first. Also returns how long it took. */
export async function freshSnapshot(service: SystemMetricsService): Promise<{ metrics: SystemMetrics; ms: number }> {
  await sleep(SNAPSHOT_REUSE_MS + 20);
  const started = performance.now();
  const metrics = await service.snapshot();
  return { metrics, ms: performance.now() - started };
}

/** Narrows a section to its success shape, failing the test with the section's content otherwise. */
export function ok<T>(section: T | ProbeError | null | undefined): T {
  if (section === null || section === undefined) throw new Error('section is null');
  if (typeof section === 'object' && 'status' in section && 'error' in section) {
    throw new Error(`section is a ProbeError: ${JSON.stringify(section)}`);
  }
  return section;
}

/** Narrows a section to a ProbeError (with whatever client-side numbers it carries). */
export function failed(section: unknown): ProbeError & Record<string, unknown> {
  if (section === null || typeof section !== 'object' || !('status' in section) || !('error' in section)) {
    throw new Error(`expected a ProbeError, got ${JSON.stringify(section)}`);
  }
  return section as ProbeError & Record<string, unknown>;
}
