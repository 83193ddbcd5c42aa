import { join } from 'node:path';
import { resolveOptions } from '../../src/resolve-options.js';

describe('resolveOptions', () => {
  it('fills the documented defaults', () => {
    const options = resolveOptions(undefined);
    expect(options).toMatchObject({
      slowThresholdMs: 1000,
      logAll: false,
      format: 'text',
      maxSpans: 1000,
      metricsTimeoutMs: 500,
      hungThresholdMs: 5000,
      memoryMonitor: false,
      instrument: { typeorm: true, ioredis: true, statement: 'normalized', redisKeys: true, maxStatementLength: 500 },
    });
    expect(resolveOptions({ slowThresholdMs: 200 }).hungThresholdMs).toBe(1000);
    expect(resolveOptions(undefined).nPlusOneThreshold).toBe(5);
    expect(resolveOptions({ nPlusOneThreshold: '0' as never }).nPlusOneThreshold).toBe(0);
    expect(resolveOptions(undefined).propagate).toBe(true);
    expect(resolveOptions({ propagate: 'false' as never }).propagate).toBe(false);
  });

  it.each([
    [{ slowThresholdMs: -1 }, /"slowThresholdMs" must be a number ≥ 0 \(got -1\)/],
    [{ slowThresholdMs: '-1' }, /"slowThresholdMs" must be a number ≥ 0 \(got "-1"\)/],
    [{ slowThresholdMs: 'abc' }, /"slowThresholdMs" must be a number ≥ 0 \(got "abc"\)/],
    [{ slowThresholdMs: '' }, /"slowThresholdMs" must be a number ≥ 0 \(got ""\)/],
    [{ slowThresholdMs: '0x10' }, /"slowThresholdMs" must be a number ≥ 0 \(got "0x10"\)/],
    [{ slowThresholdMs: '1e3' }, /"slowThresholdMs" must be a number ≥ 0 \(got "1e3"\)/],
    [{ slowThresholdMs: 'Infinity' }, /"slowThresholdMs" must be a number/],
    [{ maxSpans: '1.5' }, /"maxSpans" must be an integer ≥ 1 and ≤ 1000000 \(got "1.5"\)/],
    [{ logAll: 'TRUE' }, /"logAll" must be true or false \(got "TRUE"\)/],
    [{ logAll: '1' }, /"logAll" must be true or false/],
    [{ slowThresholdMs: Number.NaN }, /"slowThresholdMs"/],
    [{ format: 'xml' }, /"format" must be one of 'text', 'json' \(got "xml"\)/],
    [{ maxSpans: 0 }, /"maxSpans" must be an integer ≥ 1/],
    [{ maxSpans: 1.5 }, /"maxSpans" must be an integer/],
    [{ logAll: 'yes' }, /"logAll" must be true or false/],
    [{ instrument: { statement: 'raw' } }, /"instrument.statement" must be one of 'normalized', 'none'/],
    [{ memoryMonitor: { heapLimitPercent: 150 } }, /"memoryMonitor.heapLimitPercent" must be a number ≥ 1 and ≤ 100/],
    [{ logger: {} }, /"logger" must be a Nest LoggerService/],
    [{ ignoreErrors: true }, /"ignoreErrors" must be a function \(error\) => boolean/],
    [
      { socketIoAdmin: { auth: false, allowInsecure: true, serveUi: 'admin-ui' } },
      /"socketIoAdmin.serveUi" must be false or a path such as '\/admin-ui' \(got "admin-ui"\)/,
    ],
    [{ socketIoAdmin: { auth: false, allowInsecure: true, serveUi: '/a b' } }, /"socketIoAdmin.serveUi" must be/],
    [{ socketIoAdmin: { auth: false, allowInsecure: true, serveUi: true } }, /"socketIoAdmin.serveUi" must be/],
    [{ nPlusOneThreshold: 1 }, /"nPlusOneThreshold" must be 0 \(off\) or an integer ≥ 2 \(got 1\)/],
    [{ nPlusOneThreshold: -1 }, /"nPlusOneThreshold" must be an integer ≥ 0/],
    [{ nPlusOneThreshold: 2.5 }, /"nPlusOneThreshold" must be an integer/],
    [{ propagate: 'off' }, /"propagate" must be true or false \(got "off"\)/],
    [{ profile: {} }, /"profile.dir" must be a non-empty string \(got undefined\)/],
    [{ profile: { dir: '' } }, /"profile.dir" must be a non-empty string \(got ""\)/],
    [{ profile: { dir: 42 } }, /"profile.dir" must be a non-empty string \(got 42\)/],
    [{ profile: '/tmp/profiles' }, /"profile" must be an object \(got "\/tmp\/profiles"\)/],
    [{ profile: { dir: '/tmp/p', durationMs: 0 } }, /"profile.durationMs" must be a number ≥ 1 and ≤ 60000 \(got 0\)/],
    [{ profile: { dir: '/tmp/p', durationMs: -5 } }, /"profile.durationMs" must be a number ≥ 1/],
    [{ profile: { dir: '/tmp/p', maxPerHour: 0 } }, /"profile.maxPerHour" must be an integer ≥ 1 and ≤ 3600 \(got 0\)/],
    [{ profile: { dir: '/tmp/p', maxPerHour: 1.5 } }, /"profile.maxPerHour" must be an integer/],
  ])('rejects %p with a message naming the option', (options, message) => {
    expect(() => resolveOptions(options as never)).toThrow(message);
  });

  it('accepts numbers and booleans as the strings an environment variable holds', () => {
    const options = resolveOptions({
      slowThresholdMs: '200',
      maxSpans: ' 50 ',
      metricsTimeoutMs: '12.5',
      logAll: 'true',
      instrument: { typeorm: 'false', maxStatementLength: '80' },
      memoryMonitor: { intervalMs: '1000', heapLimitPercent: '90.5' },
      otel: { enabled: 'false' },
    } as never);
    expect(options).toMatchObject({
      slowThresholdMs: 200,
      hungThresholdMs: 1000,
      maxSpans: 50,
      metricsTimeoutMs: 12.5,
      logAll: true,
      instrument: { typeorm: false, maxStatementLength: 80 },
      memoryMonitor: { intervalMs: 1000, heapLimitPercent: 90.5 },
      otel: { enabled: false },
    });
  });

  it('leaves profile off unless given, fills its defaults and makes dir absolute', () => {
    expect(resolveOptions(undefined).profile).toBe(false);
    expect(resolveOptions({ profile: { dir: '/var/profiles' } }).profile).toEqual({
      dir: '/var/profiles',
      durationMs: 1000,
      maxPerHour: 6,
    });
    expect(
      resolveOptions({ profile: { dir: 'profiles', durationMs: '250', maxPerHour: '2' } } as never).profile,
    ).toEqual({ dir: join(process.cwd(), 'profiles'), durationMs: 250, maxPerHour: 2 });
  });

  it('takes socketIoAdmin.serveUi as a path without its trailing slash', () => {
    const admin = (serveUi: unknown): unknown =>
      resolveOptions({ socketIoAdmin: { auth: false, allowInsecure: true, serveUi } } as never).socketIoAdmin;
    expect(admin('/admin-ui/')).toMatchObject({ serveUi: '/admin-ui' });
    expect(admin('/ops/socket-admin')).toMatchObject({ serveUi: '/ops/socket-admin' });
    expect(admin(undefined)).toMatchObject({ serveUi: false });
  });
});
