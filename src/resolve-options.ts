import { Logger } from '@nestjs/common';
import { resolve as resolvePath } from 'node:path';
import type { LoggerService } from '@nestjs/common';
import { TRACE_DEFAULTS as DEFAULTS } from './trace.defaults.js';
import { MESSAGES } from './trace.messages.js';
import type { ReportStream } from './output/report-writer.js';
import type { ReportRecord } from './trace.types.js';
import type { TraceModuleOptions } from './trace.options.js';

/** Options after defaults and validation: what every service of the library injects. */
export interface ResolvedTraceOptions {
  slowThresholdMs: number;
  logAll: boolean;
  format: 'text' | 'json';
  stream: ReportStream;
  onReport: ((record: ReportRecord) => void) | undefined;
  maxSpans: number;
  metricsTimeoutMs: number;
  dataSource: unknown;
  redis: unknown;
  logger: LoggerService;
  hungThresholdMs: number;
  maxStackLength: number;
  ignoreErrors: ((error: unknown) => boolean) | undefined;
  instrument: {
    typeorm: boolean;
    ioredis: boolean;
    statement: 'normalized' | 'none';
    redisKeys: boolean;
    maxStatementLength: number;
  };
  memoryMonitor: { intervalMs: number; heapLimitPercent: number; growthSamples: number } | false;
  socketIoAdmin: ResolvedSocketIoAdminOptions | false;
  /** `'auto'`: on when `@opentelemetry/api` can be loaded. */
  otel: { enabled: boolean | 'auto'; tracerName: string; okSampleRate: number };
  prometheus: { registry: unknown; buckets: number[]; methods: boolean } | false;
  /** `0`: off. */
  nPlusOneThreshold: number;
  captureLogs: boolean;
  propagate: boolean;
  blockedThresholdMs: number | false;
  /** `dir` made absolute; `false`: off. */
  profile: ResolvedProfileOptions | false;
}

/** `profile` after validation. */
export interface ResolvedProfileOptions {
  dir: string;
  durationMs: number;
  maxPerHour: number;
}

/** `socketIoAdmin` after validation; `auth.password` may still be plain text (hashed when the UI is mounted). */
export interface ResolvedSocketIoAdminOptions {
  auth: { username: string; password: string } | false;
  mode: 'development' | 'production';
  namespaceName: string;
  readonly: boolean;
  /** Path the UI's page is served at, without a trailing `/`; `false`: not served. */
  serveUi: string | false;
}

/** `undefined`: not given, so auto-detect. */
export const AUTO = undefined;

/** A finite decimal number as text, what an environment variable holds: `"200"`, `"-1.5"`, `" 0.25 "`. */
const DECIMAL = /^\s*[+-]?(?:\d+(?:\.\d*)?|\.\d+)\s*$/;

function number(
  name: string,
  given: unknown,
  fallback: number,
  min: number,
  max = Number.MAX_SAFE_INTEGER,
  integer = false,
): number {
  if (given === undefined) return fallback;
  // `ConfigService.get<number>()` returns the environment's string; accept it, but no hex, exponent or empty text.
  const value = typeof given === 'string' && DECIMAL.test(given) ? Number(given) : given;
  const ok =
    typeof value === 'number' &&
    Number.isFinite(value) &&
    value >= min &&
    value <= max &&
    (!integer || Number.isInteger(value));
  if (!ok) {
    throw new Error(
      MESSAGES.invalidOption(
        name,
        `${integer ? 'an integer' : 'a number'} ≥ ${min}${max < Number.MAX_SAFE_INTEGER ? ` and ≤ ${max}` : ''}`,
        given,
      ),
    );
  }
  return value;
}

function boolean(name: string, value: unknown, fallback: boolean): boolean {
  if (value === undefined) return fallback;
  if (value === 'true' || value === 'false') return value === 'true';
  if (typeof value !== 'boolean') throw new Error(MESSAGES.invalidOption(name, 'true or false', value));
  return value;
}

function oneOf<T extends string>(name: string, value: unknown, allowed: readonly T[], fallback: T): T {
  if (value === undefined) return fallback;
  if (!allowed.includes(value as T))
    throw new Error(MESSAGES.invalidOption(name, `one of ${allowed.map((a) => `'${a}'`).join(', ')}`, value));
  return value as T;
}

function object(name: string, value: unknown): Record<string, unknown> | undefined {
  if (value === undefined) return undefined;
  if (value === null || typeof value !== 'object' || Array.isArray(value))
    throw new Error(MESSAGES.invalidOption(name, 'an object', value));
  return value as Record<string, unknown>;
}

function nonEmptyString(name: string, value: unknown): string {
  if (typeof value !== 'string' || value === '')
    throw new Error(
      MESSAGES.invalidOption(name, 'a non-empty string', name.endsWith('password') ? typeof value : value),
    );
  return value;
}

/** Validates `socketIoAdmin` (also used by `instrumentSocketIoAdmin`); `auth: false` needs development or `allowInsecure`. */
export function resolveSocketIoAdminOptions(
  value: unknown,
  nodeEnv = process.env.NODE_ENV,
): ResolvedSocketIoAdminOptions | false {
  if (value === undefined || value === false) return false;
  const admin = object('socketIoAdmin', value) ?? {};
  const allowInsecure = boolean(
    'socketIoAdmin.allowInsecure',
    admin.allowInsecure,
    DEFAULTS.socketIoAdmin.allowInsecure,
  );
  let auth: ResolvedSocketIoAdminOptions['auth'];
  if (admin.auth === false) {
    if (!allowInsecure && nodeEnv !== 'development') throw new Error(MESSAGES.socketIoAdminInsecure(nodeEnv));
    auth = false;
  } else {
    if (admin.auth === undefined)
      throw new Error(MESSAGES.invalidOption('socketIoAdmin.auth', '{ username, password } or false', undefined));
    const given = object('socketIoAdmin.auth', admin.auth) ?? {};
    auth = {
      username: nonEmptyString('socketIoAdmin.auth.username', given.username),
      password: nonEmptyString('socketIoAdmin.auth.password', given.password),
    };
  }
  const namespaceName = admin.namespaceName ?? DEFAULTS.socketIoAdmin.namespaceName;
  if (typeof namespaceName !== 'string' || !namespaceName.startsWith('/')) {
    throw new Error(
      MESSAGES.invalidOption('socketIoAdmin.namespaceName', "a namespace name starting with '/'", namespaceName),
    );
  }
  const serveUi = admin.serveUi ?? DEFAULTS.socketIoAdmin.serveUi;
  if (serveUi !== false && (typeof serveUi !== 'string' || !/^(\/[\w.~-]+)+\/?$/.test(serveUi))) {
    throw new Error(MESSAGES.invalidOption('socketIoAdmin.serveUi', "false or a path such as '/admin-ui'", serveUi));
  }
  return {
    auth,
    serveUi: serveUi === false ? false : serveUi.replace(/\/$/, ''),
    mode: oneOf('socketIoAdmin.mode', admin.mode, ['development', 'production'] as const, DEFAULTS.socketIoAdmin.mode),
    namespaceName,
    readonly: boolean('socketIoAdmin.readonly', admin.readonly, DEFAULTS.socketIoAdmin.readonly),
  };
}

function stream(value: unknown): ReportStream {
  if (value === undefined) return process.stdout;
  if (value === null || typeof (value as { write?: unknown }).write !== 'function') {
    throw new Error(MESSAGES.invalidOption('stream', 'a writable stream (an object with write(line))', value));
  }
  return value as ReportStream;
}

function onReport(value: unknown): ((record: ReportRecord) => void) | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'function')
    throw new Error(MESSAGES.invalidOption('onReport', 'a function (record) => void', value));
  return value as (record: ReportRecord) => void;
}

function ignoreErrors(value: unknown): ((error: unknown) => boolean) | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'function')
    throw new Error(MESSAGES.invalidOption('ignoreErrors', 'a function (error) => boolean', value));
  return value as (error: unknown) => boolean;
}

/** Validates user options and fills defaults; throws at bootstrap with a message naming the option. */
export function resolveOptions(options: TraceModuleOptions | undefined): ResolvedTraceOptions {
  const raw = object('options', options ?? {}) ?? {};
  const slowThresholdMs = number('slowThresholdMs', raw.slowThresholdMs, DEFAULTS.slowThresholdMs, 0);
  const format = oneOf('format', raw.format, ['text', 'json'] as const, DEFAULTS.format);
  const instrument = object('instrument', raw.instrument) ?? {};
  const monitor = raw.memoryMonitor === false ? undefined : object('memoryMonitor', raw.memoryMonitor);
  const otel = object('otel', raw.otel) ?? {};
  const prometheus = object('prometheus', raw.prometheus);
  const buckets = prometheus?.buckets;
  if (
    buckets !== undefined &&
    (!Array.isArray(buckets) ||
      buckets.length === 0 ||
      !buckets.every((b) => typeof b === 'number' && Number.isFinite(b) && b > 0))
  ) {
    throw new Error(
      MESSAGES.invalidOption('prometheus.buckets', 'a non-empty array of positive numbers (seconds)', buckets),
    );
  }
  const tracerName = otel.tracerName;
  if (tracerName !== undefined && (typeof tracerName !== 'string' || tracerName === '')) {
    throw new Error(MESSAGES.invalidOption('otel.tracerName', 'a non-empty string', tracerName));
  }
  const logger = raw.logger;
  if (logger !== undefined && (logger === null || typeof (logger as LoggerService).log !== 'function')) {
    throw new Error(MESSAGES.invalidOption('logger', 'a Nest LoggerService (an object with log/error/warn)', logger));
  }
  return {
    slowThresholdMs,
    logAll: boolean('logAll', raw.logAll, DEFAULTS.logAll),
    format,
    stream: stream(raw.stream),
    onReport: onReport(raw.onReport),
    maxSpans: number('maxSpans', raw.maxSpans, DEFAULTS.maxSpans, 1, 1_000_000, true),
    metricsTimeoutMs: number('metricsTimeoutMs', raw.metricsTimeoutMs, DEFAULTS.metricsTimeoutMs, 1, 60_000),
    dataSource: raw.dataSource,
    redis: raw.redis,
    logger: (logger as LoggerService | undefined) ?? new Logger('Trace'),
    hungThresholdMs: number('hungThresholdMs', raw.hungThresholdMs, slowThresholdMs * DEFAULTS.hungThresholdFactor, 0),
    maxStackLength: number('maxStackLength', raw.maxStackLength, DEFAULTS.maxStackLength, 0, 1_000_000, true),
    ignoreErrors: ignoreErrors(raw.ignoreErrors),
    instrument: {
      typeorm: boolean('instrument.typeorm', instrument.typeorm, DEFAULTS.instrument.typeorm),
      ioredis: boolean('instrument.ioredis', instrument.ioredis, DEFAULTS.instrument.ioredis),
      statement: oneOf(
        'instrument.statement',
        instrument.statement,
        ['normalized', 'none'] as const,
        DEFAULTS.instrument.statement,
      ),
      redisKeys: boolean('instrument.redisKeys', instrument.redisKeys, DEFAULTS.instrument.redisKeys),
      maxStatementLength: number(
        'instrument.maxStatementLength',
        instrument.maxStatementLength,
        DEFAULTS.instrument.maxStatementLength,
        1,
        1_000_000,
        true,
      ),
    },
    nPlusOneThreshold: nPlusOneThreshold(raw.nPlusOneThreshold),
    socketIoAdmin: resolveSocketIoAdminOptions(raw.socketIoAdmin),
    memoryMonitor: monitor
      ? {
          intervalMs: number('memoryMonitor.intervalMs', monitor.intervalMs, DEFAULTS.memoryMonitor.intervalMs, 10),
          heapLimitPercent: number(
            'memoryMonitor.heapLimitPercent',
            monitor.heapLimitPercent,
            DEFAULTS.memoryMonitor.heapLimitPercent,
            1,
            100,
          ),
          growthSamples: number(
            'memoryMonitor.growthSamples',
            monitor.growthSamples,
            DEFAULTS.memoryMonitor.growthSamples,
            2,
            1000,
            true,
          ),
        }
      : false,
    otel: {
      enabled: otel.enabled === undefined ? 'auto' : boolean('otel.enabled', otel.enabled, true),
      tracerName: tracerName ?? DEFAULTS.otel.tracerName,
      okSampleRate: number('otel.okSampleRate', otel.okSampleRate, DEFAULTS.otel.okSampleRate, 0, 1),
    },
    prometheus: prometheus
      ? {
          registry: prometheus.registry,
          buckets: (buckets as number[] | undefined) ?? [...DEFAULTS.prometheus.buckets],
          methods: boolean('prometheus.methods', prometheus.methods, DEFAULTS.prometheus.methods),
        }
      : false,
    captureLogs: boolean('captureLogs', raw.captureLogs, DEFAULTS.captureLogs),
    propagate: boolean('propagate', raw.propagate, DEFAULTS.propagate),
    blockedThresholdMs:
      raw.blockedThresholdMs === false || raw.blockedThresholdMs === 'false'
        ? false
        : number('blockedThresholdMs', raw.blockedThresholdMs, DEFAULTS.blockedThresholdMs, 20),
    profile: profile(raw.profile),
  };
}

/** Off unless given; `dir` is resolved against the working directory now, so reports name absolute files. */
function profile(value: unknown): ResolvedProfileOptions | false {
  if (value === undefined || value === false) return false;
  const given = object('profile', value) ?? {};
  return {
    dir: resolvePath(nonEmptyString('profile.dir', given.dir)),
    durationMs: number('profile.durationMs', given.durationMs, DEFAULTS.profile.durationMs, 1, 60_000),
    maxPerHour: number('profile.maxPerHour', given.maxPerHour, DEFAULTS.profile.maxPerHour, 1, 3600, true),
  };
}

/** `0` (off) or an integer ≥ 2: one statement is not a repetition. */
function nPlusOneThreshold(given: unknown): number {
  const value = number('nPlusOneThreshold', given, DEFAULTS.nPlusOneThreshold, 0, 1_000_000, true);
  if (value === 1) throw new Error(MESSAGES.invalidOption('nPlusOneThreshold', '0 (off) or an integer ≥ 2', given));
  return value;
}
