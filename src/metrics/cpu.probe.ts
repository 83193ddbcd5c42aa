import os from 'node:os';
import { performance } from 'node:perf_hooks';
import type { CpuMetrics } from '../trace.types.js';
import { readHostCpuTimes } from './host-cpu-times.js';
import type { HostCpuTimes } from './host-cpu-times.js';
import { round1 } from './units.js';

interface CpuReading {
  /** `performance.now()`, ms. */
  at: number;
  /** `process.cpuUsage()` user + system, µs. */
  processMicros: number;
  /** The host's busy and total CPU time, summed over its CPUs. */
  host: HostCpuTimes;
}

function readNow(): CpuReading {
  const usage = process.cpuUsage();
  return { at: performance.now(), processMicros: usage.user + usage.system, host: readHostCpuTimes() };
}

/**
 * Process and host CPU over a rolling window (about `windowMs`, longer when the event loop was blocked).
 *
 * A background timer takes a reading every `sampleMs`; `read()` takes one more reading now and compares it with the
 * newest reading that is at least `windowMs` old, so a busy loop that just ended (and starved the timer) is counted.
 * Process percent = Δ`process.cpuUsage()` / (Δwall × cores), where cores = `os.availableParallelism()`;
 * system percent = busy share of the host's Δ CPU times (`/proc/stat` on Linux, else `os.cpus()`: host-cpu-times.ts).
 * Before the first full window the base is process start (process) and boot (system). Load average is extra
 * information only: it is a run-queue length, and `[0, 0, 0]` on Windows.
 */
export class CpuProbe {
  private readonly readings: CpuReading[] = [{ at: 0, processMicros: 0, host: { busyMs: 0, totalMs: 0 } }];
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly windowMs = 1000,
    private readonly sampleMs = 250,
  ) {}

  start(): void {
    if (this.timer) return;
    this.sample();
    this.timer = setInterval(() => this.sample(), this.sampleMs);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  read(): CpuMetrics {
    const now = readNow();
    this.prune(now.at);
    const base = this.readings[0] ?? now;
    const cores = os.availableParallelism();
    const wallMs = Math.max(now.at - base.at, 0.001);
    const processPercent = ((now.processMicros - base.processMicros) / 1000 / (wallMs * cores)) * 100;
    const hostTotal = now.host.totalMs - base.host.totalMs;
    const systemPercent = hostTotal > 0 ? ((now.host.busyMs - base.host.busyMs) / hostTotal) * 100 : processPercent;
    return {
      processPercent: round1(clampPercent(processPercent)),
      systemPercent: round1(clampPercent(systemPercent)),
      loadAverage: os.loadavg().map(round1),
      cores,
      /** Process CPU in percent of one core (can exceed 100 with worker threads). */
      processCorePercent: round1(Math.max(processPercent * cores, 0)),
      windowMs: Math.round(wallMs),
    };
  }

  private sample(): void {
    const reading = readNow();
    this.readings.push(reading);
    this.prune(reading.at);
  }

  /** Keeps the newest reading that is at least `windowMs` old (the base), and everything after it. */
  private prune(now: number): void {
    while (this.readings.length > 1 && now - (this.readings[1] as CpuReading).at >= this.windowMs)
      this.readings.shift();
  }
}

function clampPercent(value: number): number {
  return Math.min(Math.max(value, 0), 100);
}
