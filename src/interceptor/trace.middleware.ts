import { STATUS_CODES } from 'node:http';
import { Inject, Injectable } from '@nestjs/common';
import type { NestMiddleware } from '@nestjs/common';
import { TraceContext } from '../context/trace-context.js';
import { TraceFrame, traceStorage } from '../context/trace-storage.js';
import { TraceReporter } from '../report/trace-reporter.js';
import { pendingHttpOrigin } from './handler-info.js';
import type { HttpRequestLike } from './handler-info.js';

interface HttpResponseLike {
  statusCode?: number;
  once(event: 'close', listener: () => void): unknown;
}

/** What a request rejected before its handler (by a guard, or a middleware after this one) is reported with. */
class RejectedBeforeHandler extends Error {
  override readonly name = 'RejectedBeforeHandler';
}

/**
 * Opens the trace of an HTTP request before Nest's router runs, so guards (and their 401 / 403 rejections),
 * interceptors and exception filters all run inside it — an interceptor alone sees none of them (a global
 * exception filter runs outside any interceptor's context, nestjs/nest#15317). The interceptor names the handler
 * when it runs; a request no handler took is closed without a report, except a 401 / 403.
 * Where the context does not reach the handler (an adapter that breaks the async chain), the interceptor opens
 * its own trace as it would without this middleware.
 */
@Injectable()
export class TraceMiddleware implements NestMiddleware {
  constructor(@Inject(TraceReporter) private readonly reporter: TraceReporter) {}

  use(request: HttpRequestLike, response: HttpResponseLike, next: (error?: unknown) => void): void {
    if (traceStorage.getStore() !== undefined) return next();
    let context: TraceContext;
    try {
      context = new TraceContext(pendingHttpOrigin(request), this.reporter);
    } catch {
      return next();
    }
    context.awaitingHandler = true;
    // 'close' follows 'finish' on every response since Node 16, and also comes when the client goes away first.
    response.once('close', () => endWithoutHandler(context, request, response.statusCode ?? 0));
    traceStorage.run(new TraceFrame(context, 0), next);
  }
}

function endWithoutHandler(context: TraceContext, request: HttpRequestLike, status: number): void {
  if (!context.awaitingHandler || context.closed) return; // the interceptor took it
  if (status !== 401 && status !== 403) {
    context.discard();
    return;
  }
  const path = request.route?.path ?? request.routeOptions?.url;
  const route = typeof path === 'string' ? path : undefined;
  const origin = { ...context.origin, route, handlerName: `${context.origin.method ?? ''} ${route ?? '(unknown route)'}`.trim() };
  context.adoptHandler(origin, origin.handlerName, undefined);
  context.endSpan(0, true, new RejectedBeforeHandler(`${status} ${STATUS_CODES[status] ?? ''}: rejected before the handler ran (a guard or a middleware)`.trim()));
}
