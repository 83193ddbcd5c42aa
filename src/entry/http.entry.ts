import { STATUS_CODES } from 'node:http';
import { Inject, Injectable } from '@nestjs/common';
import type { MiddlewareConsumer, NestMiddleware } from '@nestjs/common';
import type { HttpAdapterHost } from '@nestjs/core';
import { ActiveTrace } from '../context/active-trace.js';
import type { TraceOrigin } from '../context/active-trace.js';
import { TraceFrame, traceStorage } from '../context/trace-storage.js';
import { TraceReporter } from '../report/trace-reporter.js';
import type { EntryPoint } from './entry-point.js';
import { withParent } from './handler-origin.js';
import { isRouteHandler } from './nest-metadata.accessor.js';

export interface HttpRequestLike {
  method?: string;
  headers?: Record<string, unknown>;
  route?: { path?: unknown };
  routeOptions?: { url?: unknown };
  routerPath?: unknown;
}

export interface HttpResponseLike {
  statusCode?: number;
  on(event: 'close', listener: () => void): unknown;
}

/**
 * The HTTP hand-off (`ActiveTrace#awaitingHandler`): a trace the middleware opened whose handler has not run yet, with
 * the request its route is read from (on Fastify the framework's own request, handed over by a `preHandler` hook).
 * Cleared when a handler (or a bound `TraceInterceptor`) takes the trace.
 */
interface AwaitingHandler {
  request: HttpRequestLike;
}

function awaitingOf(trace: ActiveTrace): AwaitingHandler | undefined {
  return trace.awaitingHandler as AwaitingHandler | undefined;
}

/** Ends the hand-off: what `trace` was waiting with, or `undefined` when it was not waiting for a handler. */
function takeAwaiting(trace: ActiveTrace): AwaitingHandler | undefined {
  const pending = awaitingOf(trace);
  trace.awaitingHandler = undefined;
  return pending;
}

/** The matched route pattern of an HTTP request (Express `req.route`, Fastify `routeOptions.url`), never the raw URL. */
export function routePattern(request: HttpRequestLike): string | undefined {
  const path = request.route?.path ?? request.routeOptions?.url ?? request.routerPath;
  return typeof path === 'string' ? path : undefined;
}

/** Origin of an HTTP handler call seen by a bound `TraceInterceptor`. */
export function httpOrigin(handlerClass: { name: string }, handlerName: string, request: HttpRequestLike): TraceOrigin {
  return withParent(
    { transport: 'http', handlerClass, handlerName, method: request.method, route: routePattern(request) },
    request.headers?.traceparent,
  );
}

/**
 * Takes the middleware's trace for a handler: `true` when `trace` was waiting for one (it no longer is). Used by a
 * bound `TraceInterceptor`, which then names the trace itself.
 */
export function takeAwaitingTrace(trace: ActiveTrace): boolean {
  return takeAwaiting(trace) !== undefined;
}

/**
 * Opens the trace of an HTTP request before Nest's router runs, so guards (and their 401 / 403 rejections), pipes,
 * interceptors and exception filters all run inside it — an interceptor alone sees none of them (a global
 * exception filter runs outside any interceptor's context, nestjs/nest#15317). The route handler names the trace
 * when it is called (its wrapper, made at start-up, claims it: see `httpEntryPoint`), and the trace ends with the
 * response. No global interceptor is needed for that, and none is registered: any interceptor makes Nest run its RxJS
 * pipeline on every request, which costs more than all of this (see docs/performance.md).
 * A request no route took, or answered 404 without its handler (an unknown path, a host-constrained route whose host
 * did not match), or that a middleware answered before routing, is closed without a report; a matched route answered
 * without its handler (a caching interceptor) is reported like any request, named `METHOD /route`; a 4xx / 5xx before
 * the handler is reported as `RejectedBeforeHandler`.
 */
@Injectable()
export class TraceMiddleware implements NestMiddleware {
  constructor(@Inject(TraceReporter) private readonly reporter: TraceReporter) {}

  use(request: HttpRequestLike, response: HttpResponseLike, next: (error?: unknown) => void): void {
    if (traceStorage.getStore() !== undefined) return next();
    let trace: ActiveTrace | undefined;
    try {
      const opened = (trace = new ActiveTrace(
        withParent({ transport: 'http', handlerName: '', method: request.method }, request.headers?.traceparent),
        this.reporter,
      ));
      opened.awaitingHandler = { request } satisfies AwaitingHandler;
      // 'close' follows 'finish' on every response since Node 16, and also comes when the client goes away first.
      // It is emitted once per response, so `on` does: `once` would add a wrapper and a removal per request.
      response.on('close', () => endWithResponse(opened, response.statusCode ?? 0));
    } catch {
      trace?.discard();
      return next(); // never let the library break a request: it simply runs untraced
    }
    traceStorage.run(new TraceFrame(trace, 0), next);
  }
}

interface FastifyLike {
  addHook(name: 'preHandler', hook: (request: HttpRequestLike, reply: unknown, done: () => void) => void): unknown;
}

interface HttpAdapterLike {
  getType?(): string;
  getInstance?(): unknown;
  use?(handler: unknown): unknown;
}

/**
 * Puts `TraceMiddleware` in front of every route (called from `TraceModule.configure`). On Express it goes straight
 * on the app, without a path: Nest's middleware machinery would add a route match ('*' through path-to-regexp), a
 * WeakSet of handled requests and an exceptions proxy to every request. It runs where Nest would have run it: after
 * `app.use()` middleware of main.ts, before every module's middleware and the router. Fastify runs Nest middleware on
 * the raw Node request, which knows nothing of the route; a `preHandler` hook (after routing, inside the middleware's
 * context) hands the trace Fastify's own request, whose `routeOptions.url` is the route pattern.
 */
export function applyHttpEntry(
  consumer: MiddlewareConsumer,
  adapterHost: HttpAdapterHost | undefined,
  middleware: TraceMiddleware,
): void {
  const adapter = adapterHost?.httpAdapter as HttpAdapterLike | undefined;
  if (adapter?.getType?.() === 'express' && typeof adapter.use === 'function') {
    adapter.use((request: HttpRequestLike, response: HttpResponseLike, next: (error?: unknown) => void) =>
      middleware.use(request, response, next),
    );
    return;
  }
  consumer.apply(TraceMiddleware).forRoutes('*');
  if (adapter?.getType?.() !== 'fastify') return;
  const fastify = adapter.getInstance?.() as FastifyLike | undefined;
  fastify?.addHook('preHandler', (request, _reply, done) => {
    const frame = traceStorage.getStore();
    const pending = frame === undefined ? undefined : awaitingOf(frame.trace);
    if (pending !== undefined) pending.request = request;
    done();
  });
}

/**
 * The `http` transport: controller methods with a route. Their wrapper never opens a trace (only the middleware
 * does, so a controller method called directly stays untraced): it names and claims the middleware's trace.
 */
export function httpEntryPoint(): EntryPoint {
  return {
    transport: 'http',
    classes: 'controllers',
    accepts: () => true,
    rootFor: ({ type, name, fn }, sink) => {
      if (!isRouteHandler(fn)) return undefined;
      const spanName = `${type.name}.${name}`;
      return {
        sink,
        name: spanName,
        adopt: (trace) => {
          const pending = takeAwaiting(trace);
          if (pending === undefined) return false;
          try {
            const { origin } = trace;
            trace.adoptHandler(
              {
                transport: 'http',
                handlerClass: type,
                handlerName: name,
                method: origin.method ?? pending.request.method,
                route: routePattern(pending.request),
                parentTraceId: origin.parentTraceId,
                parentSpanId: origin.parentSpanId,
                parentSampled: origin.parentSampled,
              },
              spanName,
              undefined,
            );
          } catch {
            // Unnamed is better than broken: the trace keeps its pending name.
          }
          return true;
        },
      };
    },
  };
}

/** What a request rejected before its handler (by a guard, a pipe, or a middleware after this one) is reported with. */
class RejectedBeforeHandler extends Error {
  override readonly name = 'RejectedBeforeHandler';
  constructor(message: string) {
    super(message);
    // No stack: the only frames it could show are the library's own, which say nothing about the rejection.
    this.stack = undefined;
  }
}

/** A 5xx response whose handler neither threw nor rejected (e.g. an Observable that errored, an interceptor). */
class ServerErrorResponse extends Error {
  override readonly name = 'ServerErrorResponse';
}

/** The root span's note on a request its route's interceptor answered without calling the handler. */
const ANSWERED_BEFORE_HANDLER = 'answered before the handler ran (an interceptor that did not call next.handle())';

function endWithResponse(trace: ActiveTrace, status: number): void {
  if (trace.closed) return; // ended already (an interceptor the app bound itself)
  const pending = takeAwaiting(trace);
  if (pending === undefined) {
    if (status >= 500) trace.markRootError(new ServerErrorResponse(`${status} ${STATUS_CODES[status] ?? ''}`.trim()));
    trace.endSpan(0, false);
    return;
  }
  const route = routePattern(pending.request);
  // No route matched (a middleware answered, e.g. a CORS preflight), or a 404 no handler answered: Nest's "not found"
  // for an unknown path or for a host-constrained route whose `host` did not match the Host header.
  if ((status < 400 && route === undefined) || status === 404) {
    trace.discard();
    return;
  }
  // Named after the route: the handler Nest would have called is not known, as it never ran.
  const origin = {
    ...trace.origin,
    route,
    handlerName: `${trace.origin.method ?? ''} ${route ?? '(unknown route)'}`.trim(),
  };
  trace.adoptHandler(origin, origin.handlerName, undefined);
  if (status < 400) {
    // A matched route answered without its handler: an interceptor that never called `next.handle()` (a cache hit).
    trace.extra(0).logs = [ANSWERED_BEFORE_HANDLER];
    trace.endSpan(0, false);
    return;
  }
  trace.endSpan(
    0,
    true,
    new RejectedBeforeHandler(
      `${status} ${STATUS_CODES[status] ?? ''}: rejected before the handler ran (a guard, a pipe or a middleware)`.trim(),
    ),
  );
}
