import { closeSync, openSync, readSync } from 'node:fs';
import os from 'node:os';

/** Busy and total CPU time of the whole host since boot, summed over its CPUs, in milliseconds. */
export interface HostCpuTimes {
  busyMs: number;
  totalMs: number;
}

/** The first line of /proc/stat ("cpu  user nice system idle iowait irq …") fits in far fewer bytes. */
const HEAD_BYTES = 512;
/**
 * /proc/stat counts in USER_HZ ticks, 100 per second on Linux's mainstream architectures (libuv reads the same ticks
 * for `os.cpus()` and multiplies them by 1000 / sysconf(_SC_CLK_TCK)): milliseconds, as `os.cpus()` gives them.
 */
const MS_PER_TICK = 10;

/**
 * Reads the host's CPU times. On Linux from the first line of `/proc/stat` (the sum over all CPUs, in clock ticks);
 * elsewhere, or when `/proc/stat` cannot be read, from `os.cpus()`. Both count the same fields (user, nice, system
 * and irq as busy; idle on top for the total), so percentages agree.
 *
 * Why not `os.cpus()` everywhere: the CPU probe reads this four times a second, and `os.cpus()` is libuv's
 * `uv_cpu_info`, which on Linux allocates and zeroes a table for the kernel's maximum of 8,192 CPUs and parses
 * `/proc/cpuinfo` (model and speed, unused here) on every call: 62-68 µs of blocked event loop per call on a 2-CPU VM
 * (Node 20 and 24), ~480 k instructions (valgrind), more with more CPUs. Opening and reading the first 512 bytes of
 * `/proc/stat` costs 11-14 µs on the same VM, whose system calls are slow (bench/performance-notes.md, "The idle
 * cost"). A failed read falls back to `os.cpus()` for good; the units agree, so a window that spans the switch still
 * reads right.
 */
export function readHostCpuTimes(): HostCpuTimes {
  if (procStatReadable) {
    const times = readProcStat();
    if (times !== undefined) return times;
    procStatReadable = false;
  }
  return readOsCpus();
}

let procStatReadable = process.platform === 'linux';
let head: Buffer | undefined;

function readProcStat(): HostCpuTimes | undefined {
  let fd: number | undefined;
  try {
    fd = openSync('/proc/stat', 'r');
    head ??= Buffer.alloc(HEAD_BYTES);
    const length = readSync(fd, head, 0, HEAD_BYTES, 0);
    return parseProcStatHead(head.toString('latin1', 0, length));
  } catch {
    return undefined;
  } finally {
    // Runs on the probe's timer: nothing may throw from here into the app.
    if (fd !== undefined) closeQuietly(fd);
  }
}

function closeQuietly(fd: number): void {
  try {
    closeSync(fd);
  } catch {
    // The read is done; a descriptor the kernel refuses to close has nothing left to give.
  }
}

/** Parses the aggregate `cpu` line at the start of `/proc/stat`; `undefined` when it is not there. */
export function parseProcStatHead(text: string): HostCpuTimes | undefined {
  const end = text.indexOf('\n');
  const line = end < 0 ? text : text.slice(0, end);
  const fields = line.trim().split(/\s+/);
  if (fields[0] !== 'cpu' || fields.length < 7) return undefined;
  // user nice system idle iowait irq: busy is user + nice + system + irq (iowait is left out, as os.cpus() does).
  const ticks = (index: number): number => Number(fields[index]);
  const busyMs = (ticks(1) + ticks(2) + ticks(3) + ticks(6)) * MS_PER_TICK;
  const totalMs = busyMs + ticks(4) * MS_PER_TICK;
  return Number.isFinite(totalMs) ? { busyMs, totalMs } : undefined;
}

/** Exported for the test that checks both sources agree. */
export function readOsCpus(): HostCpuTimes {
  let busyMs = 0;
  let totalMs = 0;
  for (const cpu of os.cpus()) {
    const { user, nice, sys, idle, irq } = cpu.times;
    busyMs += user + nice + sys + irq;
    totalMs += user + nice + sys + idle + irq;
  }
  return { busyMs, totalMs };
}
