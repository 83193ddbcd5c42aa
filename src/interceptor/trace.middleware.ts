import { STATUS_CODES } from 'node:http';
import { Inject, Injectable } from '@nestjs/common';
import type { NestMiddleware } from '@nestjs/common';
import { TraceContext } from '../context/trace-context.js';
import { TraceFrame, traceStorage } from '../context/trace-storage.js';
import { TraceReporter } from '../report/trace-reporter.js';
import { pendingHttpOrigin, routePattern } from './handler-info.js';
import type { HttpRequestLike } from './handler-info.js';

export interface HttpResponseLike {
  statusCode?: number;
  on(event: 'close', listener: () => void): unknown;
}

/**
 * What a request rejected before its handler (by a guard, a pipe, or a middleware after this one) is reported with.
 * It has no stack: the only frames it could show are the library's own, which say nothing about the rejection.
 */
class RejectedBeforeHandler extends Error {
  override readonly name = 'RejectedBeforeHandler';
  constructor(message: string) {
    super(message);
    this.stack = undefined;
  }
}

/** A 5xx response whose handler neither threw nor rejected (e.g. an Observable that errored, an interceptor). */
class ServerErrorResponse extends Error {
  override readonly name = 'ServerErrorResponse';
}

/**
 * Opens the trace of an HTTP request before Nest's router runs, so guards (and their 401 / 403 rejections), pipes,
 * interceptors and exception filters all run inside it — an interceptor alone sees none of them (a global
 * exception filter runs outside any interceptor's context, nestjs/nest#15317). The route handler names the trace
 * when it is called (handler-binding.ts wraps it at start-up), and the trace ends with the response.
 * No global interceptor is needed for that, and none is registered: any interceptor makes Nest run its RxJS
 * pipeline on every request, which costs more than all of this (see the README's Performance section).
 * A request no route took, or answered 404 without its handler (an unknown path, a host-constrained route whose host
 * did not match), or that a middleware answered before routing, is closed without a report; a matched route answered
 * without its handler (a caching interceptor) is reported like any request, named `METHOD /route`; a 4xx / 5xx before
 * the handler is reported as `RejectedBeforeHandler`. Where the context does not reach the handler (an adapter that
 * breaks the async chain), the handler opens its own trace.
 */
@Injectable()
export class TraceMiddleware implements NestMiddleware {
  constructor(@Inject(TraceReporter) private readonly reporter: TraceReporter) {}

  use(request: HttpRequestLike, response: HttpResponseLike, next: (error?: unknown) => void): void {
    if (traceStorage.getStore() !== undefined) return next();
    let context: TraceContext | undefined;
    try {
      const opened = (context = new TraceContext(pendingHttpOrigin(request), this.reporter));
      opened.awaitingHandler = true;
      opened.request = request;
      // 'close' follows 'finish' on every response since Node 16, and also comes when the client goes away first.
      // It is emitted once per response, so `on` does: `once` would add a wrapper and a removal per request.
      response.on('close', () => endWithResponse(opened, request, response.statusCode ?? 0));
    } catch {
      context?.discard();
      return next(); // never let the library break a request: it simply runs untraced
    }
    traceStorage.run(new TraceFrame(context, 0), next);
  }
}

interface FastifyLike {
  addHook(name: 'preHandler', hook: (request: HttpRequestLike, reply: unknown, done: () => void) => void): unknown;
}

/**
 * Fastify runs Nest middleware on the raw Node request, which knows nothing of the route; a `preHandler` hook (after
 * routing, inside the middleware's context) hands the trace Fastify's own request, whose `routeOptions.url` is the
 * route pattern.
 */
export function noteFastifyRoutes(adapter: { getType?(): string; getInstance?(): unknown } | undefined): void {
  if (adapter?.getType?.() !== 'fastify') return;
  const fastify = adapter.getInstance?.() as FastifyLike | undefined;
  fastify?.addHook('preHandler', (request, _reply, done) => {
    const frame = traceStorage.getStore();
    if (frame !== undefined && frame.context.awaitingHandler) frame.context.request = request;
    done();
  });
}

function endWithResponse(context: TraceContext, request: HttpRequestLike, status: number): void {
  if (context.closed) return; // ended already (an interceptor the app bound itself)
  if (!context.awaitingHandler) {
    if (status >= 500) context.markRootError(new ServerErrorResponse(`${status} ${STATUS_CODES[status] ?? ''}`.trim()));
    context.endSpan(0, false);
    return;
  }
  const route = routePattern((context.request as HttpRequestLike | undefined) ?? request);
  // No route matched (a middleware answered, e.g. a CORS preflight), or a 404 no handler answered: Nest's "not found"
  // for an unknown path or for a host-constrained route whose `host` did not match the Host header.
  if ((status < 400 && route === undefined) || status === 404) {
    context.discard();
    return;
  }
  // Named after the route: the handler Nest would have called is not known, as it never ran.
  const origin = {
    ...context.origin,
    route,
    handlerName: `${context.origin.method ?? ''} ${route ?? '(unknown route)'}`.trim(),
  };
  context.adoptHandler(origin, origin.handlerName, undefined);
  if (status < 400) {
    // A matched route answered without its handler: an interceptor that never called `next.handle()` (a cache hit).
    context.extra(0).logs = [ANSWERED_BEFORE_HANDLER];
    context.endSpan(0, false);
    return;
  }
  context.endSpan(
    0,
    true,
    new RejectedBeforeHandler(
      `${status} ${STATUS_CODES[status] ?? ''}: rejected before the handler ran (a guard, a pipe or a middleware)`.trim(),
    ),
  );
}

/** The root span's note on a request its route's interceptor answered without calling the handler. */
const ANSWERED_BEFORE_HANDLER = 'answered before the handler ran (an interceptor that did not call next.handle())';
