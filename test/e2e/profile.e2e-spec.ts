import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import type { BlockedRecord, TraceRecord } from '../../src/index.js';

interface AppRun {
  reports: TraceRecord[];
  blocked: BlockedRecord[];
  logs: string[];
  closeMs?: number;
}

interface ProfileFile {
  nodes: { callFrame: { functionName: string } }[];
  samples: number[];
  timeDeltas: number[];
}

const FIXTURE = fileURLToPath(new URL('./fixtures/profile-app.mjs', import.meta.url));

/** Runs one scenario of the fixture app (a real Nest app over real HTTP, in a process of its own; see the fixture). */
async function run(scenario: string, dir: string, nodeFlags: string[] = []): Promise<AppRun> {
  const { stdout } = await promisify(execFile)(process.execPath, [...nodeFlags, FIXTURE, scenario, dir], {
    encoding: 'utf8',
    timeout: 40_000,
  });
  return JSON.parse(stdout.trim().split('\n').pop() ?? '') as AppRun;
}

const build = (run: AppRun): TraceRecord[] => run.reports.filter((r) => r.handler === 'ReportsController.build');

describe('CPU profile at the moment of slowness (option `profile`, in a real app process)', () => {
  let dir: string;

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'nestjs-trace-profile-'));
  });

  afterEach(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it('profiles a handler that runs past slowThresholdMs: the file opens as a .cpuprofile and top names the hot function', async () => {
    const result = await run('slow', dir);
    const [record] = build(result);
    expect(record?.outcome).toBe('slow');
    const profile = record?.profile;
    // The directory did not exist: it was created.
    expect(profile?.file).toBe(join(dir, 'profiles', `${record?.traceId}.cpuprofile`));
    expect(profile?.error).toBeUndefined();
    expect(profile?.durationMs).toBeGreaterThanOrEqual(450);
    expect(profile?.durationMs).toBeLessThan(5000);
    expect(Date.parse(profile?.startedAt ?? '')).not.toBeNaN();

    const file = JSON.parse(readFileSync(profile?.file ?? '', 'utf8')) as ProfileFile;
    expect(file.nodes.length).toBeGreaterThan(1);
    expect(file.samples.length).toBeGreaterThan(50);
    expect(file.timeDeltas).toHaveLength(file.samples.length);
    expect(file.nodes.some((n) => n.callFrame.functionName === 'crunchNumbers')).toBe(true);

    expect(profile?.top.length).toBeLessThanOrEqual(10);
    const hot = profile?.top.find((f) => f.function === 'crunchNumbers');
    expect(hot).toMatchObject({ file: FIXTURE });
    expect(hot?.line).toBeGreaterThan(0);
    expect(hot?.selfMs).toBeGreaterThan(0);
    const selfTimes = profile?.top.map((f) => f.selfMs) ?? [];
    expect(selfTimes).toEqual([...selfTimes].sort((a, b) => b - a));
    expect(profile?.top.map((f) => f.function)).not.toContain('(idle)');
    expect(result.logs).toEqual([]);
  }, 45_000);

  it('takes at most maxPerHour profiles: with 1, the second slow request gets none', async () => {
    const [first, second] = build(await run('rate', dir));
    expect(first?.outcome).toBe('slow');
    expect(second?.outcome).toBe('slow');
    expect(first?.profile?.file).toBe(join(dir, `${first?.traceId}.cpuprofile`));
    expect(second?.profile).toBeUndefined();
    expect(readdirSync(dir)).toEqual([`${first?.traceId}.cpuprofile`]);
  }, 45_000);

  it('under a debugger (--inspect) too: the library records through a session of its own', async () => {
    const result = await run('inspect', dir, ['--inspect=127.0.0.1:0']);
    const [record] = build(result);
    expect(record?.profile?.file).toBe(join(dir, `${record?.traceId}.cpuprofile`));
    expect(existsSync(record?.profile?.file ?? '')).toBe(true);
    expect(result.logs).toEqual([]);
  }, 45_000);

  it('is off by default: no profile, no file', async () => {
    const [record] = build(await run('off', dir));
    expect(record?.outcome).toBe('slow');
    expect(record).not.toHaveProperty('profile');
    expect(readdirSync(dir)).toEqual([]);
  }, 45_000);

  it('after a blocked loop inside a trace that is still running: the blocked report and the trace share its profile', async () => {
    const result = await run('blocked', dir);
    const report = result.reports.find((r) => r.handler === 'ReportsController.block');
    const blocked = result.blocked.find((b) => b.trace?.handler === 'ReportsController.block');
    expect(report?.outcome).toBe('slow');
    expect(blocked?.trace?.traceId).toBe(report?.traceId);
    expect(blocked?.profile?.file).toBe(join(dir, `${report?.traceId}.cpuprofile`));
    expect(report?.profile).toEqual(blocked?.profile);
    // Recorded after the block, while the handler kept working.
    expect(Date.parse(blocked?.profile?.startedAt ?? '')).toBeGreaterThanOrEqual(Date.parse(blocked?.at ?? ''));
    expect(blocked?.profile?.top.map((f) => f.function)).toContain('crunchNumbers');
    expect(existsSync(blocked?.profile?.file ?? '')).toBe(true);
  }, 45_000);

  it('a directory that cannot be written: the report keeps top and says why, the failure is logged once', async () => {
    writeFileSync(join(dir, 'a-file'), '');
    const result = await run('unwritable', dir);
    const records = build(result);
    expect(records).toHaveLength(2);
    for (const record of records) {
      expect(record.profile?.error).toMatch(/^not written: E(EXIST|NOTDIR): .*a-file/);
      expect(record.profile?.top.length).toBeGreaterThan(0);
    }
    expect(result.logs.filter((line) => line.includes('cpu profile (write) failed'))).toHaveLength(1);
  }, 45_000);

  it('app.close() ends a recording early: the report waiting for it is written with what was recorded', async () => {
    const result = await run('close', dir);
    const [record] = build(result);
    expect(result.closeMs).toBeLessThan(5000);
    expect(record?.profile?.durationMs).toBeLessThan(5000);
    expect(existsSync(record?.profile?.file ?? '')).toBe(true);
  }, 45_000);
});
