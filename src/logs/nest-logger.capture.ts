import { Logger } from '@nestjs/common';
import { performance } from 'node:perf_hooks';
import type { CapturedLogLevel } from '../context/span-extra.js';
import { traceStorage } from '../context/trace-storage.js';
import { installOnce } from '../instrumentation/install-once.util.js';
import type { Uninstall } from '../instrumentation/install-once.util.js';
import { wrapMethod } from '../instrumentation/wrap-method.util.js';

type LogMethod = (this: unknown, ...args: unknown[]) => unknown;

const LEVELS: readonly (readonly [method: string, level: CapturedLogLevel, nestLevel: string])[] = [
  ['log', 'LOG', 'log'],
  ['warn', 'WARN', 'warn'],
  ['error', 'ERROR', 'error'],
  ['debug', 'DEBUG', 'debug'],
  ['verbose', 'VERBOSE', 'verbose'],
  ['fatal', 'FATAL', 'fatal'],
];

const installations = new WeakMap<object, unknown>();
/** Off once uninstalled: a wrapper someone else put on top of ours keeps ours in the chain, passing calls through. */
let active = false;
/** Above 0 while the library writes through a logger itself (its reports and failures are not the app's logs). */
let suppressed = 0;

/** The statics of Nest's `Logger` that say which levels the app's logger prints. */
interface LoggerStatics {
  /** The logger installed by `app.useLogger` (a `ConsoleLogger` by default); `undefined` with `logger: false`. */
  staticInstanceRef?: unknown;
  /** Levels set by `app.useLogger([...])` / `logger: [...]`, if any. */
  logLevels?: unknown;
  isLevelEnabled?(level: string): boolean;
}

/**
 * Captures the Nest `Logger` calls made inside a trace into the current span's `logs`. The hook is on `Logger` itself
 * (its six instance methods and six statics): every `new Logger('Ctx').warn(…)` and `Logger.warn(…)` in an app goes
 * through them before Nest dispatches to whatever logger `app.useLogger` installed, so one hook sees every call
 * whatever the logger is, and the call reaches that logger unchanged (same `this`, same arguments, same return).
 * A logger the app calls directly (not through `Logger`) is not seen. Installed once per process however many apps
 * ask; removed when the last one releases it.
 */
export function installNestLoggerCapture(): Uninstall {
  return installOnce(installations, Logger, () => {
    const undo: (() => void)[] = [];
    const statics = Logger as unknown as LoggerStatics;
    for (const [method, level, nestLevel] of LEVELS) {
      const wrap = (original: LogMethod): LogMethod => capturing(original, level, nestLevel, statics);
      if (typeof Reflect.get(Logger.prototype, method) === 'function')
        undo.push(wrapMethod<LogMethod>(Logger.prototype, method, wrap));
      if (typeof Reflect.get(Logger, method) === 'function') undo.push(wrapMethod<LogMethod>(Logger, method, wrap));
    }
    active = true;
    return () => {
      active = false;
      for (const restore of undo) restore();
    };
  });
}

/** Runs `write` (the library's own logging) without capturing it into the trace it may run in. */
export function withoutLogCapture(write: () => void): void {
  suppressed++;
  try {
    write();
  } finally {
    suppressed--;
  }
}

function capturing(original: LogMethod, level: CapturedLogLevel, nestLevel: string, statics: LoggerStatics): LogMethod {
  return function (this: unknown): unknown {
    if (active && suppressed === 0) {
      const frame = traceStorage.getStore();
      if (frame !== undefined && !frame.trace.closed) {
        try {
          // A level the app's logger does not print is not kept either: the report shows what the log shows.
          if (levelEnabled(statics, nestLevel)) {
            frame.trace.captureLog(frame.span, {
              level,
              // eslint-disable-next-line prefer-rest-params -- no rest array on the path every log call takes
              context: contextOf(this, level, arguments),
              // eslint-disable-next-line prefer-rest-params
              message: arguments[0],
              at: performance.now(),
            });
          }
        } catch {
          // Capturing is best effort: the app's call goes on whatever happened here.
        }
      }
    }
    // `arguments` as is (not `...args`): the app's logger receives exactly what was passed, even how many.
    // eslint-disable-next-line prefer-rest-params -- see above
    return Reflect.apply(original, this, arguments);
  };
}

/**
 * Whether the app's logger prints `level`. Not `Logger.isLevelEnabled` alone: on Nest 11 it answers `false` for every
 * level when no levels were ever set (the default), where Nest 12 answers `true`.
 */
function levelEnabled(statics: LoggerStatics, level: string): boolean {
  const instance = statics.staticInstanceRef;
  if (instance === undefined || instance === null) return false; // `logger: false`
  const own = (instance as { isLevelEnabled?: unknown }).isLevelEnabled;
  if (typeof own === 'function') return (own as (level: string) => unknown).call(instance, level) !== false;
  if (statics.logLevels === undefined) return true; // a logger of the app's own, no levels set: it gets every call
  return statics.isLevelEnabled?.(level) !== false;
}

/**
 * The context Nest's `ConsoleLogger` would print: an instance's own context, else the last argument when it is a
 * string and not the message itself (`error(message, stack)` has no context; `error(message, stack, context)` has).
 */
function contextOf(self: unknown, level: CapturedLogLevel, args: IArguments): unknown {
  if (typeof self === 'object' && self !== null) {
    const own = (self as { context?: unknown }).context;
    if (own !== undefined && own !== '') return own;
  }
  const count = args.length;
  if (count < (level === 'ERROR' ? 3 : 2)) return undefined;
  const last: unknown = args[count - 1];
  return typeof last === 'string' ? last : undefined;
}
