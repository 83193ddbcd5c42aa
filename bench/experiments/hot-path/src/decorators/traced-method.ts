import { isObservable } from 'rxjs';
import { TraceContext, openTraces } from '../context/trace-context.js';
import type { TraceOrigin, TraceSink } from '../context/trace-context.js';
import { callInSpan } from '../context/span-call.js';
import { traceStorage } from '../context/trace-storage.js';
import type { TraceFrame } from '../context/trace-storage.js';
import { copyMethodMetadata } from '../utils/copy-method-metadata.util.js';

type Method = (this: unknown, ...args: unknown[]) => unknown;

/** How a wrapper opens a root trace when it is called outside any trace (gateway handlers on Nest 11). */
export interface RootSpec {
  sink: () => TraceSink | undefined;
  /** Builds the origin from the call's arguments (e.g. the socket's handshake). */
  origin: (args: readonly unknown[]) => TraceOrigin;
  /** Name of the root span (`Gateway.method`). */
  name: string;
}

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
  /** EXPERIMENT: calls that returned a plain value; after 2 the method runs on the caller's frame. */
  syncResults: number;
}

const states = new WeakMap<object, TracedMethodState>();

function spanName(state: TracedMethodState, self: unknown): string {
  if (state.name !== undefined) return state.name;
  const owner = typeof self === 'function' ? self : (self as { constructor?: unknown } | null | undefined)?.constructor;
  if (owner !== state.lastOwner) {
    state.lastOwner = owner;
    const className = (owner as { name?: unknown } | undefined)?.name;
    state.lastName = typeof className === 'string' && className !== '' ? `${className}.${state.methodName}` : state.methodName;
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
export function traceMethod(original: Method, methodName: string, settings: { span?: boolean; name?: string; root?: RootSpec }): Method {
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
    syncResults: original.constructor.name === 'AsyncFunction' ? -1 : 0,
  };
  // EXPERIMENT: the wrapper itself stays tiny (so V8 inlines it and can drop the rest-args array on the untraced
  // path); everything else is in `tracedCall`.
  const wrapper = function (this: unknown, ...args: unknown[]): unknown {
    if (openTraces.count === 0 && state.root === undefined) return original.apply(this, args);
    const frame = traceStorage.getStore();
    return frame === undefined && state.root === undefined ? original.apply(this, args) : tracedCall(state, wrapper, frame, this, args);
  };
  copyMethodMetadata(original, wrapper);
  states.set(wrapper, state);
  return wrapper;
}

function openRoot(root: RootSpec, wrapper: Method, original: Method, self: unknown, args: unknown[]): unknown {
  let context: TraceContext;
  try {
    context = new TraceContext(root.origin(args), root.sink(), root.name);
  } catch {
    // Never let the library break a handler: without a context it simply runs untraced.
    return original.apply(self, args);
  }
  context.rootFunction = wrapper;
  context.rootClaimed = true;
  return callInSpan(context, 0, original, self, args);
}

/**
 * EXPERIMENT: a method that has returned plain values runs on the caller's frame with `span` swapped in and out
 * around the call (no `AsyncLocalStorage.run`, no frame object). Sync children see the right parent; async work
 * started inside and left running is parented to the caller. If it ever returns a Promise or Observable, it goes
 * back to a frame per call for good (that one call's async children are parented to the caller).
 */
function callOnFrame(frame: TraceFrame, span: number, state: TracedMethodState, original: Method, self: unknown, args: unknown[]): unknown {
  const context = frame.context;
  const parent = frame.span;
  frame.span = span;
  let result: unknown;
  try {
    result = original.apply(self, args);
  } catch (error) {
    frame.span = parent;
    context.endSpan(span, true, error);
    throw error;
  }
  frame.span = parent;
  if (result instanceof Promise) {
    state.syncResults = -1;
    return result.then(
      (value: unknown) => (context.endSpan(span, false), value),
      (error: unknown) => {
        context.endSpan(span, true, error);
        throw error;
      },
    );
  }
  if (isObservable(result)) state.syncResults = -1;
  context.endSpan(span, false);
  return result;
}

function tracedCall(state: TracedMethodState, wrapper: Method, frame: TraceFrame | undefined, self: unknown, args: unknown[]): unknown {
  const original = state.original;
  if (frame === undefined) return openRoot(state.root as RootSpec, wrapper, original, self, args);
  const context = frame.context;
  if (context.rootFunction === wrapper && frame.span === 0 && !context.rootClaimed) {
    context.rootClaimed = true;
    return original.apply(self, args);
  }
  if (!state.span) return original.apply(self, args);
  const span = context.openSpan(spanName(state, self), frame.span);
  if (span < 0) return original.apply(self, args);
  if (state.syncResults >= 2) return callOnFrame(frame, span, state, original, self, args);
  const result = callInSpan(context, span, original, self, args);
  if (state.syncResults >= 0 && !(result instanceof Promise) && !isObservable(result)) state.syncResults++;
  return result;
}
