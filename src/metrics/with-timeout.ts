/** Rejection of {@link withTimeout} when the work took longer than allowed. */
export class ProbeTimeoutError extends Error {
  constructor(readonly timeoutMs: number) {
    super(`timeout after ${timeoutMs} ms`);
    this.name = 'ProbeTimeoutError';
  }
}

/**
 * Settles like `work`, or rejects with {@link ProbeTimeoutError} after `timeoutMs` (and calls `onTimeout`, e.g. to
 * drop a connection whose reply will never come). The timer is cleared as soon as either side settles and never keeps
 * the process alive; a late rejection of `work` is absorbed by the race, not reported as unhandled.
 */
export function withTimeout<T>(work: Promise<T>, timeoutMs: number, onTimeout?: () => void): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      onTimeout?.();
      reject(new ProbeTimeoutError(timeoutMs));
    }, timeoutMs);
    timer.unref();
  });
  return Promise.race([work, timeout]).finally(() => clearTimeout(timer));
}
