import type { ActiveTrace, TraceOrigin, TraceSink } from '../context/active-trace.js';
import type { TraceTransport } from '../trace.types.js';

/** A handler method found at start-up: its class, name and function (metadata is read from the function). */
export interface DiscoveredHandler {
  readonly type: { readonly name: string; readonly prototype?: object };
  readonly name: string;
  readonly fn: (...args: never[]) => unknown;
}

/** How the wrapper of a handler roots its trace (see `traceMethod` in decorators/traced-method.ts). */
export interface RootSpec {
  sink: () => TraceSink | undefined;
  /** Name of the root span (`Class.method`). */
  name: string;
  /**
   * Builds the origin from the call's arguments, for a handler whose wrapper opens its trace itself (no Nest
   * interceptor runs for it). Without it the wrapper never opens a trace of its own.
   */
  origin?: (args: readonly unknown[]) => TraceOrigin;
  /** With `origin`: whether this call is one Nest's pipeline made; other calls run untraced. */
  opensOn?: (args: readonly unknown[]) => boolean;
  /**
   * A trace opened before the handler ran (the HTTP middleware's) learns its handler: returns `true` when `trace`
   * was waiting for one and is now named after it. Never throws.
   */
  adopt?: (trace: ActiveTrace) => boolean;
  /**
   * With `origin`: what a call made inside another trace does. `'root'` opens a trace of its own all the same (a job
   * never joins the trace that happened to start it), `'span'` records a child span of the running span (as `@Trace`
   * does). By default the call runs as part of that trace with no span of its own.
   */
  insideTrace?: 'root' | 'span';
}

/**
 * A transport through which work enters the app (`http`, `ws`, `rpc`, …): one file each in `src/entry/`, listed in
 * `trace.module.ts`. At start-up the explorer offers it every method of every controller or provider class; it says
 * which are its handlers and how their trace is rooted.
 */
export interface EntryPoint {
  readonly transport: TraceTransport;
  /** Which classes it looks at (`'both'`: `@nestjs/schedule` and `@nestjs/event-emitter` scan controllers too). */
  readonly classes: 'controllers' | 'providers' | 'both';
  /** Whether a class may hold its handlers at all (checked once per class, before its methods). */
  accepts(type: DiscoveredHandler['type']): boolean;
  /** The root of a handler method, or `undefined` when the method is not one of its handlers. */
  rootFor(handler: DiscoveredHandler, sink: () => TraceSink | undefined): RootSpec | undefined;
  /** Called once for each class in which it found handlers (e.g. to put `TraceInterceptor` on it). */
  bound?(type: DiscoveredHandler['type']): void;
}
