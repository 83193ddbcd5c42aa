import { ActiveTrace } from '../context/active-trace.js';
import type { TraceOrigin } from '../context/active-trace.js';
import { callInSpan, isDeferred, isNativePromise, settle } from '../context/span-call.js';
import { TraceFrame, traceStorage } from '../context/trace-storage.js';
import type { RootSpec } from '../entry/entry-point.js';
import { copyMethodMetadata } from '../utils/copy-method-metadata.util.js';

type Method = (this: unknown, ...args: unknown[]) => unknown;

interface TracedMethodState {
  readonly original: Method;
  readonly methodName: string;
  /** Records a span when called inside a trace (`@Trace`). */
  span: boolean;
  /** Fixed span name from `@Trace({ name })`. */
  name: string | undefined;
  root: RootSpec | undefined;
  // Span names are `RuntimeClass.method`: remembered per class so the hot path builds no string.
  lastOwner: unknown;
  lastName: string;
  /** Calls in a row that returned a plain value; `NEVER_SYNC` once the method returned a Promise or Observable. */
  plainReturns: number;
  /**
   * Calls that returned a native Promise and were quiet: nothing in their trace opened a span or touched a span's
   * extras (logs, span id, DB facts, errors) between the return of the Promise and its settling. `FRAMED` once one was
   * not, or the method returned another deferred value (see `watchQuiet`).
   */
  quietCalls: number;
}

/** Arguments passed without an array (see `traceMethod`). */
const MAX_FAST_ARGS = 4;
/** After this many plain returns in a row a method runs on its caller's frame (no AsyncLocalStorage.run). */
const PROVEN_SYNC = 2;
const NEVER_SYNC = Number.NEGATIVE_INFINITY;
/** After this many quiet calls an async method runs on its caller's frame too (see `watchQuiet`). */
const PROVEN_QUIET = 2;
const FRAMED = Number.NEGATIVE_INFINITY;

const states = new WeakMap<object, TracedMethodState>();

function spanName(state: TracedMethodState, self: unknown): string {
  if (state.name !== undefined) return state.name;
  const owner = typeof self === 'function' ? self : (self as { constructor?: unknown } | null | undefined)?.constructor;
  if (owner !== state.lastOwner) {
    state.lastOwner = owner;
    const className = (owner as { name?: unknown } | undefined)?.name;
    state.lastName =
      typeof className === 'string' && className !== '' ? `${className}.${state.methodName}` : state.methodName;
  }
  return state.lastName;
}

/** True when `fn` is a wrapper made by this library. */
export function isTracedMethod(fn: unknown): boolean {
  return typeof fn === 'object' || typeof fn === 'function' ? states.has(fn as object) : false;
}

/**
 * Wraps a method: inside a trace each call records a span (a plain function wrapper, cheaper than a Proxy);
 * outside a trace it calls straight through. Keeps metadata, `name` and `length`; never changes the result.
 * Wrapping a wrapper again only updates its settings.
 */
export function traceMethod(
  original: Method,
  methodName: string,
  settings: { span?: boolean; name?: string; root?: RootSpec },
): Method {
  const existing = states.get(original);
  if (existing) {
    if (settings.span) existing.span = true;
    if (settings.name !== undefined) existing.name = settings.name;
    if (settings.root) existing.root = settings.root;
    return original;
  }
  const state: TracedMethodState = {
    original,
    methodName,
    span: settings.span ?? false,
    name: settings.name,
    root: settings.root,
    lastOwner: undefined,
    lastName: methodName,
    plainReturns:
      (original as { constructor?: { name?: string } }).constructor?.name === 'AsyncFunction' ? NEVER_SYNC : 0,
    quietCalls: 0,
  };
  // Up to MAX_FAST_ARGS arguments are passed as named parameters, never gathered into an array: a rest array escapes
  // into the paths below, so V8 would allocate it on every call, which was most of the cost of a call outside a trace
  // and a third of a sync span (see the README's Performance section). More arguments take the array path.
  const wrapper = function (this: unknown, a?: unknown, b?: unknown, c?: unknown, d?: unknown): unknown {
    const n = arguments.length;
    // Forwarding `arguments` straight to `apply` is the one use V8 compiles without materializing it.
    // eslint-disable-next-line prefer-rest-params
    if (n > MAX_FAST_ARGS) return general.apply(this, arguments as unknown as unknown[]);
    const frame = traceStorage.getStore();
    if (frame === undefined) {
      if (state.root?.origin === undefined) return callWith(original, this, n, a, b, c, d);
    } else if (state.span && !mayClaimRoot(state, frame, wrapper)) {
      // A span under the current one: the common case, taken without an arguments array.
      const span = frame.trace.openSpan(spanName(state, this), frame.span);
      if (span < 0) return callWith(original, this, n, a, b, c, d);
      return onCallersFrame(state)
        ? callOnFrame(state, frame, span, this, n, a, b, c, d)
        : callInNewFrame(state, frame.trace, span, this, n, a, b, c, d);
    }
    return traced(this, frame, argsOf(n, a, b, c, d));
  };
  const general = function (this: unknown, ...args: unknown[]): unknown {
    return traced(this, traceStorage.getStore(), args);
  };
  /** Every case but the two fast ones above, with the arguments as an array. */
  const traced = (self: unknown, frame: TraceFrame | undefined, args: unknown[]): unknown => {
    if (frame === undefined) {
      const root = state.root;
      return root?.origin === undefined
        ? original.apply(self, args)
        : openRoot(root, root.origin, wrapper, original, self, args);
    }
    // A job started from inside another trace (`insideTrace: 'root'`) still gets a trace of its own.
    if (state.root?.insideTrace === 'root' && state.root.origin !== undefined)
      return openRoot(state.root, state.root.origin, wrapper, original, self, args);
    const context = frame.trace;
    // The handler claims the root whatever spans are open around it: Nest calls it inside the spans of traced
    // interceptors (whose Observable it runs in), so `frame.span` need not be 0 here.
    if (!context.rootClaimed) {
      if (context.rootFunction === wrapper) {
        // The handler itself: the interceptor's root span is already its span.
        context.rootClaimed = true;
        return callOnRoot(frame, original, self, args);
      }
      const adopt = state.root?.adopt;
      if (adopt !== undefined && adopt(context)) return claimAdoptedRoot(wrapper, frame, original, self, args);
    }
    if (!state.span) return original.apply(self, args);
    const span = context.openSpan(spanName(state, self), frame.span);
    if (span < 0) return original.apply(self, args);
    return onCallersFrame(state)
      ? callOnFrame(state, frame, span, self, -1, args, undefined, undefined, undefined)
      : callInNewFrame(state, context, span, self, -1, args, undefined, undefined, undefined);
  };
  copyMethodMetadata(original, wrapper);
  states.set(wrapper, state);
  return wrapper;
}

/**
 * The general path: the call runs in a frame of its own, so async work it starts (timers, awaits, promises) stays
 * under its span. Learns whether the method returns plain values. Takes `n` arguments `a`…`d`, or with `n` = -1 all
 * of them as an array in `a` (as `callOnFrame` does).
 */
function callInNewFrame(
  state: TracedMethodState,
  context: ActiveTrace,
  span: number,
  self: unknown,
  n: number,
  a: unknown,
  b: unknown,
  c: unknown,
  d: unknown,
): unknown {
  let result: unknown;
  try {
    const frame = new TraceFrame(context, span);
    result =
      n < 0
        ? traceStorage.run(frame, Reflect.apply, state.original, self, a as unknown[])
        : traceStorage.run(frame, callWith, state.original, self, n, a, b, c, d);
  } catch (error) {
    context.endSpan(span, true, error);
    throw error;
  }
  if (isDeferred(result)) {
    state.plainReturns = NEVER_SYNC;
    if (state.quietCalls >= 0 && isNativePromise(result)) return watchQuiet(state, context, span, result);
    state.quietCalls = FRAMED;
    return settle(context, span, result);
  }
  state.plainReturns++;
  context.endSpan(span, false);
  return result;
}

/** Whether a call runs on its caller's frame: a method proven synchronous, or an async one proven quiet. */
function onCallersFrame(state: TracedMethodState): boolean {
  return state.plainReturns >= PROVEN_SYNC || state.quietCalls >= PROVEN_QUIET;
}

/**
 * Ends `span` when `promise` settles, as `settle` does, and learns whether the call was quiet: whether anything in
 * its trace opened a span or touched a span's extras while the promise was pending. A method whose calls were quiet
 * twice runs on its caller's frame from then on (`callOnFrame`), like a synchronous one: on Node 24
 * `AsyncLocalStorage.run` copies the context frame twice per call (~270 ns on this VM, against ~35 ns on Node 20 and
 * 22), the largest single cost of an async span there (docs/performance.md). Its synchronous part still runs with its
 * span as the current one, so what it calls before its first `await` nests exactly; what it does after an `await`
 * runs on the caller's frame. The first call that is not quiet makes the method take a frame of its own on every
 * later call (`FRAMED`); the traced work such a call did after an `await` of its own, and traced work a quiet method
 * left running after it settled, are recorded under the caller's span (docs/what-is-traced.md). Work of other
 * calls during that time (a concurrent sibling's) is also "not quiet": the check cannot tell whose it was, so it errs
 * on the side of frames.
 */
function watchQuiet(
  state: TracedMethodState,
  context: ActiveTrace,
  span: number,
  promise: Promise<unknown>,
): Promise<unknown> {
  const count = context.count;
  const extraCalls = context.extraCalls;
  // Two closures, as `settle` has: a third shared one would be one more allocation per call.
  promise.then(
    () => {
      learnQuiet(state, context, count, extraCalls);
      context.endSpan(span, false);
    },
    (error: unknown) => {
      learnQuiet(state, context, count, extraCalls);
      context.endSpan(span, true, error);
    },
  );
  return promise;
}

/** Before the span ends (an error ends it through `extra()`): was the trace as it was when the promise was returned? */
function learnQuiet(state: TracedMethodState, context: ActiveTrace, count: number, extraCalls: number): void {
  if (context.count !== count || context.extraCalls !== extraCalls) state.quietCalls = FRAMED;
  else state.quietCalls++;
}

/**
 * The path of a method that has proven synchronous (not `async`, plain values returned twice in a row), or quiet
 * (see `watchQuiet`): it runs on the caller's frame with `span` swapped in and out, which saves an
 * `AsyncLocalStorage.run` and a frame per call (about half the cost of a sync span on Node 20). Nested sync calls
 * still nest exactly. The price: async work such a method starts and leaves running (a timer, an un-awaited promise)
 * is attributed to its caller; and if a synchronous one one day returns a Promise, that call's later children land
 * under the caller, and the method goes back to the general path. Takes `n` arguments `a`…`d`, or with `n` = -1 all
 * of them as an array in `a`.
 */
function callOnFrame(
  state: TracedMethodState,
  frame: TraceFrame,
  span: number,
  self: unknown,
  n: number,
  a: unknown,
  b: unknown,
  c: unknown,
  d: unknown,
): unknown {
  const context = frame.trace;
  const previous = frame.span;
  frame.span = span;
  let result: unknown;
  try {
    result = n < 0 ? state.original.apply(self, a as unknown[]) : callWith(state.original, self, n, a, b, c, d);
  } catch (error) {
    frame.span = previous;
    context.endSpan(span, true, error);
    throw error;
  }
  frame.span = previous;
  if (isDeferred(result)) {
    const quiet = state.quietCalls >= PROVEN_QUIET;
    state.plainReturns = NEVER_SYNC;
    if (isNativePromise(result))
      return quiet ? watchQuiet(state, context, span, result) : settle(context, span, result);
    state.quietCalls = FRAMED;
    return settle(context, span, result);
  }
  context.endChildSpan(span);
  return result;
}

/**
 * A handler called in a trace its entry point opened before it ran (the HTTP middleware's), which `adopt` has just
 * named after it: claims the root span and records the handler's error on it. The root span ends when the entry point
 * says (with the response), so the result is only watched, never replaced.
 */
function claimAdoptedRoot(
  wrapper: Method,
  frame: TraceFrame,
  original: Method,
  self: unknown,
  args: unknown[],
): unknown {
  const context = frame.trace;
  context.rootFunction = wrapper;
  context.rootClaimed = true;
  let result: unknown;
  try {
    result = callOnRoot(frame, original, self, args);
  } catch (error) {
    context.markRootError(error);
    throw error;
  }
  // A derived promise that never rejects: the caller still handles the original's rejection.
  if (isNativePromise(result)) result.then(undefined, (error: unknown) => context.markRootError(error));
  return result;
}

/**
 * Calls a handler that claimed its trace's root: on the caller's frame when that is the root already, else in a frame
 * of the root span, so the handler's own spans nest under the root and not under a traced enhancer still open.
 */
function callOnRoot(frame: TraceFrame, original: Method, self: unknown, args: unknown[]): unknown {
  return frame.span === 0
    ? original.apply(self, args)
    : traceStorage.run(new TraceFrame(frame.trace, 0), Reflect.apply, original, self, args);
}

/** Whether this call may claim its trace's root span or open a root of its own (decided in the general path). */
function mayClaimRoot(state: TracedMethodState, frame: TraceFrame, wrapper: Method): boolean {
  const context = frame.trace;
  if (state.root?.insideTrace === 'root') return true;
  return !context.rootClaimed && (context.rootFunction === wrapper || state.root !== undefined);
}

/** Calls `fn` with exactly `n` of the given arguments (so `arguments.length`, defaults and rest parameters see the caller's call). */
function callWith(fn: Method, self: unknown, n: number, a: unknown, b: unknown, c: unknown, d: unknown): unknown {
  switch (n) {
    case 0:
      return fn.call(self);
    case 1:
      return fn.call(self, a);
    case 2:
      return fn.call(self, a, b);
    case 3:
      return fn.call(self, a, b, c);
    default:
      return fn.call(self, a, b, c, d);
  }
}

function argsOf(n: number, a: unknown, b: unknown, c: unknown, d: unknown): unknown[] {
  switch (n) {
    case 0:
      return [];
    case 1:
      return [a];
    case 2:
      return [a, b];
    case 3:
      return [a, b, c];
    default:
      return [a, b, c, d];
  }
}

function openRoot(
  root: RootSpec,
  origin: (args: readonly unknown[]) => TraceOrigin,
  wrapper: Method,
  original: Method,
  self: unknown,
  args: unknown[],
): unknown {
  let context: ActiveTrace | undefined;
  try {
    if (root.opensOn === undefined || root.opensOn(args))
      context = new ActiveTrace(origin(args), root.sink(), root.name);
  } catch {
    // Never let the library break a handler: without a context it simply runs untraced.
  }
  if (context === undefined) return original.apply(self, args);
  context.rootFunction = wrapper;
  context.rootClaimed = true;
  return callInSpan(context, 0, original, self, args);
}
