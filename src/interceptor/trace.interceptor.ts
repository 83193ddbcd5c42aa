import { Inject, Injectable } from '@nestjs/common';
import type { CallHandler, ExecutionContext, NestInterceptor } from '@nestjs/common';
import { Observable } from 'rxjs';
import type { Observer, Subscriber, Subscription } from 'rxjs';
import { TraceContext } from '../context/trace-context.js';
import type { TraceOrigin } from '../context/trace-context.js';
import { TraceFrame, traceStorage } from '../context/trace-storage.js';
import { TraceReporter } from '../report/trace-reporter.js';
import { handlerSpanName, originOf } from './handler-info.js';

/**
 * Opens one trace per HTTP request, WebSocket message or RPC call; the handler is its root span.
 * Registered globally by `TraceModule`; exported for apps that bind it themselves.
 */
@Injectable()
export class TraceInterceptor implements NestInterceptor {
  constructor(@Inject(TraceReporter) private readonly reporter: TraceReporter) {}

  intercept(executionContext: ExecutionContext, next: CallHandler): Observable<unknown> {
    const frame = traceStorage.getStore();
    if (frame !== undefined) {
      // The HTTP middleware's trace: name its handler and end it with the handler. Anything else is already traced.
      return frame.context.awaitingHandler && frame.span === 0
        ? this.adopt(frame.context, executionContext, next)
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
      const context = new TraceContext(origin, reporter, rootName);
      context.rootFunction = handler;
      return mirrorRoot(context, subscriber, (observer) =>
        traceStorage.run(new TraceFrame(context, 0), () => next.handle().subscribe(observer)),
      );
    });
  }

  private adopt(context: TraceContext, executionContext: ExecutionContext, next: CallHandler): Observable<unknown> {
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
    return originOf(executionContext);
  } catch {
    return undefined;
  }
}

/** Passes the handler's stream through and ends the root span when it completes, errors or is unsubscribed. */
function mirrorRoot(
  context: TraceContext,
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
