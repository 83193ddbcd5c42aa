import { NO_TRACE_METADATA } from '../trace.tokens.js';
import { isTracedMethod, traceMethod } from './traced-method.js';

/** Options of `@Trace()`. */
export interface TraceOptions {
  /** Span name; default `Class.method` with the runtime class (subclasses show their own name). */
  name?: string;
}

type Method = (this: unknown, ...args: unknown[]) => unknown;

/**
 * Records a span for each call made inside a trace. On a method: that method. On a class: every own
 * prototype method, except the constructor, getters/setters, static members and methods marked `@NoTrace()`.
 *
 * The caller always gets the very value the method returned (same object, class and own properties) or the very
 * error it threw; a sync method stays sync. What the span covers depends on that value:
 * - a native Promise: until it settles, watched on a side chain that never rejects (a rejection the method or its
 *   caller handles stays handled); the span has ended when the caller's `await` resumes;
 * - a plain rxjs Observable (`new Observable`, `of`, `timer`, a `pipe(...)`, `HttpService` calls): each subscription,
 *   from subscribe to complete / error / unsubscribe. It gets a non-enumerable own `subscribe` to do so;
 * - anything else, timed to the return: Subjects (`Subject`, `BehaviorSubject`, `ReplaySubject`, `AsyncSubject`),
 *   other Observable subclasses, Observables of another rxjs copy, and foreign thenables (never `then`-ed).
 *
 * One difference remains: a traced method's rejected Promise that nobody handles is no longer an `unhandledRejection`
 * (the side chain handles it); the span records the error instead.
 */
export function Trace(options: TraceOptions = {}): ClassDecorator & MethodDecorator {
  return ((target: object, propertyKey?: string | symbol, descriptor?: PropertyDescriptor): unknown => {
    if (propertyKey === undefined) {
      traceClass(target);
      return undefined;
    }
    if (!descriptor || typeof descriptor.value !== 'function') return descriptor;
    descriptor.value = traceMethod(descriptor.value as Method, String(propertyKey), { span: true, name: options.name });
    return descriptor;
  }) as ClassDecorator & MethodDecorator;
}

function traceClass(target: { prototype?: object }): void {
  const prototype = target.prototype;
  if (!prototype) return;
  for (const key of Reflect.ownKeys(prototype)) {
    if (key === 'constructor') continue;
    // The descriptor, never `prototype[key]`: reading would run a getter at decoration time.
    const descriptor = Object.getOwnPropertyDescriptor(prototype, key);
    if (!descriptor || typeof descriptor.value !== 'function' || !descriptor.configurable) continue;
    if (Reflect.getMetadata(NO_TRACE_METADATA, prototype, key) === true) continue;
    if (isTracedMethod(descriptor.value)) continue; // a method-level @Trace keeps its own options
    Object.defineProperty(prototype, key, {
      ...descriptor,
      value: traceMethod(descriptor.value as Method, String(key), { span: true }),
    });
  }
}
