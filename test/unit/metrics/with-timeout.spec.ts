import { ProbeTimeoutError, withTimeout } from '../../../src/metrics/with-timeout.js';

const timers = (): number => process.getActiveResourcesInfo().filter((name) => name === 'Timeout').length;

describe('withTimeout', () => {
  it('resolves with the work and clears its timer', async () => {
    const before = timers();
    await expect(withTimeout(Promise.resolve(7), 10_000)).resolves.toBe(7);
    expect(timers()).toBe(before);
  });

  it("rejects with the work's own error and clears its timer", async () => {
    const before = timers();
    const error = new Error('boom');
    await expect(withTimeout(Promise.reject(error), 10_000)).rejects.toBe(error);
    expect(timers()).toBe(before);
  });

  it('rejects with "timeout after N ms" and calls onTimeout once; a late rejection of the work is absorbed', async () => {
    let calls = 0;
    let fail: (error: Error) => void = () => undefined;
    const work = new Promise<never>((_, reject) => {
      fail = reject;
    });
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown): void => void unhandled.push(reason);
    process.on('unhandledRejection', onUnhandled);
    try {
      const result = withTimeout(work, 30, () => (calls += 1));
      await expect(result).rejects.toEqual(new ProbeTimeoutError(30));
      await expect(result).rejects.toThrow('timeout after 30 ms');
      fail(new Error('late'));
      await new Promise((resolve) => setTimeout(resolve, 20));
      expect(calls).toBe(1);
      expect(unhandled).toEqual([]);
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
  });
});
