/**
 * Every default of `TraceModule.forRoot` in one place. `resolveOptions` fills options from it, and the docs test
 * checks the README's options table and the options' JSDoc `@default` tags against it, so the three never disagree.
 * Options whose default depends on the app (`dataSource`, `redis`, `logger`, `otel.enabled`) or is "off"
 * (`memoryMonitor`, `prometheus`, `socketIoAdmin`, `profile`) are described where they are resolved.
 */
export const TRACE_DEFAULTS = deepFreeze({
  slowThresholdMs: 1000,
  logAll: false,
  format: 'text',
  maxSpans: 1000,
  metricsTimeoutMs: 500,
  /** `hungThresholdMs` defaults to this many times `slowThresholdMs`. */
  hungThresholdFactor: 5,
  maxStackLength: 4000,
  instrument: {
    typeorm: true,
    ioredis: true,
    statement: 'normalized',
    redisKeys: true,
    maxStatementLength: 500,
  },
  memoryMonitor: { intervalMs: 30_000, heapLimitPercent: 85, growthSamples: 5 },
  otel: { tracerName: 'nestjs-trace', okSampleRate: 1 },
  prometheus: { buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10], methods: false },
  blockedThresholdMs: 200,
  socketIoAdmin: { mode: 'production', namespaceName: '/admin', readonly: true, allowInsecure: false, serveUi: false },
  nPlusOneThreshold: 5,
  captureLogs: true,
  propagate: true,
  profile: { durationMs: 1000, maxPerHour: 6 },
} as const);

function deepFreeze<T extends object>(value: T): T {
  for (const child of Object.values(value))
    if (child !== null && typeof child === 'object') deepFreeze(child as object);
  return Object.freeze(value);
}
