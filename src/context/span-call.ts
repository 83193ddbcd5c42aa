import { isObservable, Observable } from 'rxjs';
import type { TraceContext } from './trace-context.js';
import { TraceFrame, traceStorage } from './trace-storage.js';

type AnyFunction = (...args: never[]) => unknown;

/**
 * Calls `fn` with the trace's `span` as the current frame and ends the span when the result settles:
 * at once for a plain value or a throw, when a native Promise settles, per subscription for an Observable.
 * The caller gets the same value or the very same error object back.
 */
export function callInSpan(
  context: TraceContext,
  span: number,
  fn: AnyFunction,
  thisArg: unknown,
  args: readonly unknown[],
): unknown {
  let result: unknown;
  try {
    result = traceStorage.run(new TraceFrame(context, span), Reflect.apply, fn, thisArg, args);
  } catch (error) {
    context.endSpan(span, true, error);
    throw error;
  }
  return settle(context, span, result);
}

/** True for the results whose span outlives the call: native Promises and Observables. */
export function isDeferred(result: unknown): boolean {
  if (result === null || (typeof result !== 'object' && typeof result !== 'function')) return false;
  return isNativePromise(result) || isObservableSafe(result);
}

// `instanceof` and rxjs's `isObservable` run a Proxy's `getPrototypeOf` / `get` traps: a returned Proxy whose traps
// throw must come back to the caller as a plain value, not as the trap's error.
export function isNativePromise(result: unknown): result is Promise<unknown> {
  try {
    return result instanceof Promise;
  } catch {
    return false;
  }
}

function isObservableSafe(result: unknown): result is Observable<unknown> {
  try {
    if (result instanceof Observable) return true;
    // Plain objects and arrays, the usual results, are rejected by their prototype: rxjs's duck typing (`lift`,
    // `subscribe`) looks up properties they do not have, which cost ~0.4 µs per call on Node 20 (see the README's
    // Performance section). An Observable from another copy of rxjs still passes the duck typing below.
    const prototype: unknown = Object.getPrototypeOf(result);
    if (prototype === Object.prototype || prototype === Array.prototype || prototype === null) return false;
    return isObservable(result);
  } catch {
    return false;
  }
}

/** Ends `span` when `result` settles; returns what the caller gets (the same value or a timed equivalent). */
export function settle(context: TraceContext, span: number, result: unknown): unknown {
  // Native promises only: calling `then` on a foreign thenable could start lazy work (query builders)
  // that the caller never asked for, so those are timed to the return like a plain value.
  if (isNativePromise(result)) {
    return result.then(
      (value: unknown) => {
        context.endSpan(span, false);
        return value;
      },
      (error: unknown) => {
        context.endSpan(span, true, error);
        throw error;
      },
    );
  }
  if (isObservableSafe(result)) return observeInSpan(context, span, result);
  context.endSpan(span, false);
  return result;
}

/**
 * An Observable is lazy: its span is timed from subscription to complete / error / unsubscribe, once per
 * subscription. The first subscription reuses the span opened by the call; later ones open siblings.
 */
function observeInSpan(context: TraceContext, span: number, source: Observable<unknown>): Observable<unknown> {
  // Until someone subscribes the call took no time; the span restarts at the first subscription.
  // The root span (a handler or `TraceContext.run`) stays open instead: ending it would finish the trace.
  if (span !== 0) context.endSpan(span, false);
  const parent = context.spanParent(span);
  const name = context.names[span] ?? '';
  let subscribed = false;
  return new Observable<unknown>((subscriber) => {
    let current: number;
    if (!subscribed) {
      subscribed = true;
      current = span;
      if (span !== 0) context.restartSpan(span);
    } else {
      current = span === 0 ? -1 : context.openSpan(name, parent);
    }
    if (current < 0) return source.subscribe(subscriber);
    let done = false;
    const subscription = traceStorage.run(new TraceFrame(context, current), () =>
      source.subscribe({
        next: (value) => subscriber.next(value),
        error: (error: unknown) => {
          done = true;
          context.endSpan(current, true, error);
          subscriber.error(error);
        },
        complete: () => {
          done = true;
          context.endSpan(current, false);
          subscriber.complete();
        },
      }),
    );
    return () => {
      subscription.unsubscribe();
      if (!done) {
        context.markCancelled(current);
        context.endSpan(current, false);
      }
    };
  });
}
