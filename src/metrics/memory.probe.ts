import { readFile } from 'node:fs/promises';
import os from 'node:os';
import v8 from 'node:v8';
import type { MemoryMetrics } from '../trace.types.js';
import { round1, toMB } from './units.js';

/** cgroup v1 writes a huge number (about 2^63) for "no limit". */
const NO_LIMIT = 2 ** 60;

/** Memory limit and usage of the process's cgroup (containers), when `/sys/fs/cgroup` exposes them. */
export interface CgroupMemory {
  /** `null`: the cgroup has no memory limit. */
  limitMB: number | null;
  usageMB: number;
  /** Usage in percent of the limit; `null` without a limit. */
  usagePercent: number | null;
  version: 1 | 2;
}

/**
 * Host memory (`os.totalmem()` / `os.freemem()`, which on Linux is MemAvailable), the cgroup limit and usage when
 * present, and the process: `process.memoryUsage()` plus `heapLimitMB` = V8's `heap_size_limit` (the heap can grow
 * to it; `heapTotal` is only what is committed now, so `heapUsed / heapTotal` says nothing about OOM risk).
 */
export async function readMemory(): Promise<MemoryMetrics> {
  const total = os.totalmem();
  const free = os.freemem();
  const usage = process.memoryUsage();
  const heap = v8.getHeapStatistics();
  const cgroup = await readCgroupMemory();
  return {
    system: {
      totalMB: toMB(total),
      usedMB: toMB(total - free),
      freeMB: toMB(free),
      usagePercent: round1(((total - free) / total) * 100),
      ...(cgroup ? { cgroup } : {}),
    },
    process: {
      rssMB: toMB(usage.rss),
      heapUsedMB: toMB(usage.heapUsed),
      heapTotalMB: toMB(usage.heapTotal),
      heapLimitMB: toMB(heap.heap_size_limit),
      externalMB: toMB(usage.external),
      arrayBuffersMB: toMB(usage.arrayBuffers),
      /** Heap in use in percent of `heap_size_limit`: the OOM-risk figure. */
      heapLimitPercent: round1((heap.used_heap_size / heap.heap_size_limit) * 100),
    },
  };
}

/** cgroup v2 (`memory.max`, `memory.current`), else v1 (`memory/memory.limit_in_bytes`, `memory.usage_in_bytes`). */
export async function readCgroupMemory(root = '/sys/fs/cgroup'): Promise<CgroupMemory | null> {
  const v2 = await readPair(`${root}/memory.max`, `${root}/memory.current`);
  if (v2) return cgroupMemory(v2, 2);
  const v1 = await readPair(`${root}/memory/memory.limit_in_bytes`, `${root}/memory/memory.usage_in_bytes`);
  return v1 ? cgroupMemory(v1, 1) : null;
}

async function readPair(limitFile: string, usageFile: string): Promise<[string, string] | null> {
  try {
    const [limit, usage] = await Promise.all([readFile(limitFile, 'utf8'), readFile(usageFile, 'utf8')]);
    return [limit.trim(), usage.trim()];
  } catch {
    // No cgroup files (not Linux, or not mounted): the section is simply absent.
    return null;
  }
}

function cgroupMemory([limitText, usageText]: [string, string], version: 1 | 2): CgroupMemory | null {
  const usage = Number(usageText);
  if (!Number.isFinite(usage)) return null;
  const limit = limitText === 'max' ? Number.POSITIVE_INFINITY : Number(limitText);
  const limited = Number.isFinite(limit) && limit < NO_LIMIT;
  return {
    limitMB: limited ? toMB(limit) : null,
    usageMB: toMB(usage),
    usagePercent: limited ? round1((usage / limit) * 100) : null,
    version,
  };
}
