import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readCgroupMemory } from '../../../src/metrics/memory.probe.js';

describe('readCgroupMemory', () => {
  let root: string;

  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), 'nt-cgroup-'));
  });
  afterEach(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it('cgroup v2 with a limit', async () => {
    await writeFile(join(root, 'memory.max'), `${512 * 1024 * 1024}\n`);
    await writeFile(join(root, 'memory.current'), `${128 * 1024 * 1024}\n`);
    expect(await readCgroupMemory(root)).toEqual({ limitMB: 512, usageMB: 128, usagePercent: 25, version: 2 });
  });

  it('cgroup v2 without a limit ("max")', async () => {
    await writeFile(join(root, 'memory.max'), 'max\n');
    await writeFile(join(root, 'memory.current'), `${64 * 1024 * 1024}\n`);
    expect(await readCgroupMemory(root)).toEqual({ limitMB: null, usageMB: 64, usagePercent: null, version: 2 });
  });

  it('cgroup v1 without a limit (the huge sentinel)', async () => {
    await mkdir(join(root, 'memory'));
    await writeFile(join(root, 'memory', 'memory.limit_in_bytes'), '9223372036854771712\n');
    await writeFile(join(root, 'memory', 'memory.usage_in_bytes'), `${100 * 1024 * 1024}\n`);
    expect(await readCgroupMemory(root)).toEqual({ limitMB: null, usageMB: 100, usagePercent: null, version: 1 });
  });

  it('no cgroup files → null', async () => {
    expect(await readCgroupMemory(root)).toBeNull();
  });
});
