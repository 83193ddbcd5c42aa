import inspector from 'node:inspector';
import type { CpuProfile } from './cpu-profile.types.js';

/**
 * V8's sampling interval while a profile records, in microseconds. 1 ms gives 1 000 samples per second of profile,
 * plenty to rank functions, and keeps the sampler's own cost small (see docs/stalls.md for the measurement).
 */
export const SAMPLING_INTERVAL_US = 1000;

/**
 * The library's own inspector session on the main thread, used only for the `Profiler` domain. Sessions are
 * independent: an app under `--inspect`, or one that profiles itself, keeps its own profiles (V8 records one per
 * session). On the main thread `post` answers synchronously; the promises are there for the other cases.
 */
export class ProfilerSession {
  private session: inspector.Session | undefined;

  /** Connects and enables the profiler; throws when the inspector is not available (a Node built without it). */
  async connect(): Promise<void> {
    const session = new inspector.Session();
    session.connect();
    this.session = session;
    await this.post('Profiler.enable');
    await this.post('Profiler.setSamplingInterval', { interval: SAMPLING_INTERVAL_US });
  }

  async start(): Promise<void> {
    await this.post('Profiler.start');
  }

  async stop(): Promise<CpuProfile> {
    const { profile } = await this.post<{ profile: CpuProfile }>('Profiler.stop');
    return profile;
  }

  /** Safe to call more than once; a profile still recording is dropped with the session. */
  disconnect(): void {
    const session = this.session;
    this.session = undefined;
    session?.disconnect();
  }

  private post<T = unknown>(method: string, params: object = {}): Promise<T> {
    const session = this.session;
    if (session === undefined) return Promise.reject(new Error('the inspector session is closed'));
    return new Promise<T>((resolve, reject) => {
      session.post(method, params, (error, result) => (error ? reject(error) : resolve(result as T)));
    });
  }
}
