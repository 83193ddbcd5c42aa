import { isObservable, Observable } from 'rxjs';
import type { Subscription } from 'rxjs';
import type { ActiveTrace } from './active-trace.js';
import { TraceFrame, traceStorage } from './trace-storage.js';

type AnyFunction = (...args: never[]) => unknown;

/**
 * Calls `fn` with the trace's `span` as the current frame and ends the span when the result settles (see `settle`).
 * The caller gets the very same value or error object back.
 */
export function callInSpan(
  context: ActiveTrace,
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

/**
 * Ends `span` when `result` settles and returns `result` itself: the caller always gets the very object the method
 * returned (its identity, class, own properties and API), never a copy.
 * - A native Promise is watched on a side chain that never rejects, so a rejection the caller handles stays handled
 *   and no second, unhandled copy of it exists. The side chain is attached before the caller can `await`, so the span
 *   has ended when the caller's continuation runs.
 * - A plain rxjs `Observable` (not a Subject or other subclass) is timed per subscription, from subscription to
 *   complete / error / unsubscribe (see `timeSubscriptions`).
 * - Anything else, Subjects and other Observable subclasses included, is timed to the return.
 */
export function settle(context: ActiveTrace, span: number, result: unknown): unknown {
  // Native promises only: calling `then` on a foreign thenable could start lazy work (query builders)
  // that the caller never asked for, so those are timed to the return like a plain value.
  if (isNativePromise(result)) {
    result.then(
      () => context.endSpan(span, false),
      (error: unknown) => context.endSpan(span, true, error),
    );
    return result;
  }
  if (isPlainObservable(result)) {
    timeSubscriptions(context, span, result);
    return result;
  }
  context.endSpan(span, false);
  return result;
}

/** What the next subscription to an instrumented Observable is timed as: the span of the call that last returned it. */
interface PendingSpan {
  readonly context: ActiveTrace;
  readonly span: number;
  readonly name: string;
  readonly parent: number;
  subscribed: boolean;
}

const pendingSpans = new WeakMap<Observable<unknown>, PendingSpan>();
// Always called with an Observable as `this` (`apply` / `call` below).
// eslint-disable-next-line @typescript-eslint/unbound-method
const observableSubscribe = Observable.prototype.subscribe;

/**
 * True for an Observable made by this copy of rxjs's own constructor (`new Observable`, `of`, `timer`, `pipe`, an
 * `HttpService` call): the one kind whose every subscription goes through `Observable.prototype.subscribe`. Subjects,
 * other subclasses and Observables of another rxjs copy have their own `subscribe` logic and are left alone.
 */
function isPlainObservable(result: unknown): result is Observable<unknown> {
  try {
    return (
      typeof result === 'object' &&
      result !== null &&
      Object.getPrototypeOf(result) === Observable.prototype &&
      Object.isExtensible(result)
    );
  } catch {
    return false;
  }
}

/**
 * An Observable is lazy: its span is timed from subscription to complete / error / unsubscribe, once per
 * subscription. The instance gets a non-enumerable own `subscribe` (once: a later traced call returning the same
 * instance only points it at its own span) that runs `Observable.prototype.subscribe` inside the span; the object the
 * caller holds is the one the method returned. The first subscription reuses the span opened by the call; later ones
 * open siblings.
 */
function timeSubscriptions(context: ActiveTrace, span: number, source: Observable<unknown>): void {
  // Until someone subscribes the call took no time; the span restarts at the first subscription.
  // The root span (`ActiveTrace.run`) stays open instead: ending it would finish the trace.
  if (span !== 0) context.endSpan(span, false);
  const instrumented = pendingSpans.has(source);
  pendingSpans.set(source, {
    context,
    span,
    name: context.names[span] ?? '',
    parent: context.spanParent(span),
    subscribed: false,
  });
  if (instrumented) return;
  if (Object.prototype.hasOwnProperty.call(source, 'subscribe')) return;
  try {
    Object.defineProperty(source, 'subscribe', {
      value: subscribeInSpan,
      writable: true,
      configurable: true,
      enumerable: false,
    });
  } catch {
    // A sealed or proxied Observable: its span stays timed to the return.
  }
}

/** The own `subscribe` of an instrumented Observable (`this` is the Observable). */
function subscribeInSpan(this: Observable<unknown>, ...args: unknown[]): Subscription {
  const subscribe = observableSubscribe as (this: Observable<unknown>, ...args: unknown[]) => Subscription;
  const pending = pendingSpans.get(this);
  if (pending === undefined || pending.context.closed) return subscribe.apply(this, args);
  const { context, span } = pending;
  let current: number;
  if (!pending.subscribed) {
    pending.subscribed = true;
    current = span;
    if (span !== 0) context.restartSpan(span);
  } else {
    current = span === 0 ? -1 : context.openSpan(pending.name, pending.parent);
  }
  if (current < 0) return subscribe.apply(this, args);
  // A relay made by rxjs itself turns `args` into a Subscriber exactly as a direct subscription would (a Subscriber
  // argument is used as it is), so unsubscription and error handling are rxjs's own.
  const relay = new Observable<unknown>((subscriber) => {
    let done = false;
    const inner = traceStorage.run(new TraceFrame(context, current), () =>
      subscribe.call(this, {
        next: (value: unknown) => subscriber.next(value),
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
      inner.unsubscribe();
      if (!done) {
        context.markCancelled(current);
        context.endSpan(current, false);
      }
    };
  });
  return subscribe.apply(relay, args);
}
