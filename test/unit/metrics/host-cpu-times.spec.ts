import { parseProcStatHead, readHostCpuTimes, readOsCpus } from '../../../src/metrics/host-cpu-times.js';

describe('host CPU times', () => {
  it('reads the aggregate cpu line of /proc/stat in milliseconds (ticks of 10 ms), counting what os.cpus() counts', () => {
    const head = 'cpu  100 5 40 800 30 2 7 9 0 0\ncpu0 50 2 20 400 15 1 3 4 0 0\nintr 123 4 5\n';
    // busy = user + nice + system + irq; iowait, softirq and steal are left out, as libuv's os.cpus() leaves them.
    expect(parseProcStatHead(head)).toEqual({
      busyMs: (100 + 5 + 40 + 2) * 10,
      totalMs: (100 + 5 + 40 + 2 + 800) * 10,
    });
  });

  it('rejects text that does not start with the aggregate cpu line', () => {
    expect(parseProcStatHead('cpu0 1 2 3 4 5 6 7\n')).toBeUndefined();
    expect(parseProcStatHead('cpu  1 2 3\n')).toBeUndefined();
    expect(parseProcStatHead('')).toBeUndefined();
    expect(parseProcStatHead('cpu  1 2 x 4 5 6 7\n')).toBeUndefined();
  });

  it('agrees with os.cpus() on this machine (same source, same units)', () => {
    const fromOs = readOsCpus();
    const read = readHostCpuTimes();
    // Read one after the other: the totals advance by at most a few ticks per CPU in between.
    expect(read.totalMs).toBeGreaterThan(0);
    expect(Math.abs(read.totalMs - fromOs.totalMs) / fromOs.totalMs).toBeLessThan(0.01);
    expect(Math.abs(read.busyMs - fromOs.busyMs) / Math.max(fromOs.busyMs, 1)).toBeLessThan(0.01);
  });
});
