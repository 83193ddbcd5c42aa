import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { CpuProfile } from './cpu-profile.types.js';

/** `<dir>/<traceId>.cpuprofile`, or `<dir>/blocked-<ISO time, colons as dashes>.cpuprofile` (a name Windows accepts). */
export function profilePath(dir: string, traceId: string | undefined, blockedAtEpochMs: number): string {
  const name = traceId ?? `blocked-${new Date(blockedAtEpochMs).toISOString().replace(/:/g, '-')}`;
  return join(dir, `${name}.cpuprofile`);
}

/**
 * Writes the profile as Chrome DevTools and speedscope read it (the `Profiler.Profile` object as JSON), creating the
 * directory when missing. The file system work is asynchronous; `JSON.stringify` is not, and takes a few ms for a
 * one-second profile (see docs/stalls.md).
 */
export async function writeProfile(path: string, dir: string, profile: CpuProfile): Promise<void> {
  await mkdir(dir, { recursive: true });
  await writeFile(path, JSON.stringify(profile));
}
