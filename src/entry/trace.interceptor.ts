import { Inject, Injectable } from '@nestjs/common';
import type { CallHandler, ExecutionContext, NestInterceptor } from '@nestjs/common';
import { Observable } from 'rxjs';
import type { Observer, Subscriber, Subscription } from 'rxjs';
import { ActiveTrace } from '../context/active-trace.js';
import type { TraceOrigin } from '../context/active-trace.js';
import { TraceFrame, traceStorage } from '../context/trace-storage.js';
import { TraceReporter } from '../report/trace-reporter.js';
import { handlerSpanName } from './handler-origin.js';
import { httpOrigin, takeAwaitingTrace } from './http.entry.js';
import type { HttpRequestLike } from './http.entry.js';
import { rpcOrigin } from './rpc.entry.js';
import { wsOrigin } from './ws.entry.js';

/**
 * Opens one trace per WebSocket message or RPC call; the handler is its root span. `TraceModule` puts it first on
 * every gateway and on every controller with message patterns (never as a global interceptor, which would make Nest
 * run its RxJS pipeline on every HTTP route). Exported for apps that bind it themselves: bound on HTTP routes it names
 * the HTTP middleware's trace and ends it with the handler.
 */
@Injectable()
export class TraceInterceptor implements NestInterceptor {
  constructor(@Inject(TraceReporter) private readonly reporter: TraceReporter) {}

  intercept(executionContext: ExecutionContext, next: CallHandler): Observable<unknown> {
    const frame = traceStorage.getStore();
    if (frame !== undefined) {
      // The HTTP middleware's trace: name its handler and end it with the handler. Anything else is already traced.
      return frame.span === 0 && takeAwaitingTrace(frame.trace)
        ? this.adopt(frame.trace, executionContext, next)
        : next.handle();
    }
    const origin = safeOrigin(executionContext);
    if (origin === undefined) return next.handle();
    const handler = executionContext.getHandler();
    const rootName = handlerSpanName(origin, handler);
    const reporter = this.reporter;
    // The context opens per subscription and `next.handle()` is called inside it, so the whole handler
    // (and Nest's own async scope binding) runs in this trace (the nestjs-cls interceptor shape).
    return new Observable<unknown>((subscriber) => {
      const context = new ActiveTrace(origin, reporter, rootName);
      context.rootFunction = handler;
      return mirrorRoot(context, subscriber, (observer) =>
        traceStorage.run(new TraceFrame(context, 0), () => next.handle().subscribe(observer)),
      );
    });
  }

  private adopt(context: ActiveTrace, executionContext: ExecutionContext, next: CallHandler): Observable<unknown> {
    const origin = safeOrigin(executionContext);
    if (origin === undefined) return next.handle();
    const handler = executionContext.getHandler();
    context.adoptHandler(origin, handlerSpanName(origin, handler), handler);
    return new Observable<unknown>((subscriber) =>
      mirrorRoot(context, subscriber, (observer) => next.handle().subscribe(observer)),
    );
  }
}

/** The origin of a handler call; `undefined` (untraced) for unknown transports, and never a throw into the app. */
function safeOrigin(executionContext: ExecutionContext): TraceOrigin | undefined {
  try {
    const handler = executionContext.getHandler();
    const handlerClass = executionContext.getClass();
    switch (executionContext.getType<string>()) {
      case 'http':
        return httpOrigin(handlerClass, handler.name, executionContext.switchToHttp().getRequest<HttpRequestLike>());
      case 'ws':
        return wsOrigin(handlerClass, handler, executionContext.switchToWs().getClient<unknown>());
      case 'rpc':
        return rpcOrigin(handlerClass, handler, executionContext.switchToRpc().getData<unknown>());
      default:
        return undefined;
    }
  } catch {
    return undefined;
  }
}

/** Passes the handler's stream through and ends the root span when it completes, errors or is unsubscribed. */
function mirrorRoot(
  context: ActiveTrace,
  subscriber: Subscriber<unknown>,
  subscribe: (observer: Partial<Observer<unknown>>) => Subscription,
): () => void {
  let done = false;
  const subscription = subscribe({
    next: (value) => subscriber.next(value),
    error: (error: unknown) => {
      done = true;
      context.endSpan(0, true, error);
      subscriber.error(error);
    },
    complete: () => {
      done = true;
      context.endSpan(0, false);
      subscriber.complete();
    },
  });
  return () => {
    subscription.unsubscribe();
    if (!done) {
      context.markCancelled(0);
      context.endSpan(0, false);
    }
  };
}
