import { Inject, Injectable } from '@nestjs/common';
import type { CallHandler, ExecutionContext, NestInterceptor } from '@nestjs/common';
import { Observable } from 'rxjs';
import { TraceContext } from '../context/trace-context.js';
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
    if (traceStorage.getStore() !== undefined) return next.handle(); // already traced (nested or a gateway root)
    let origin;
    try {
      origin = originOf(executionContext);
    } catch {
      origin = undefined;
    }
    if (origin === undefined) return next.handle();
    const handler = executionContext.getHandler();
    const rootName = handlerSpanName(origin, handler);
    const reporter = this.reporter;
    // The context opens per subscription and `next.handle()` is called inside it, so the whole handler
    // (and Nest's own async scope binding) runs in this trace (the nestjs-cls interceptor shape).
    return new Observable<unknown>((subscriber) => {
      const context = new TraceContext(origin, reporter, rootName);
      context.rootFunction = handler;
      let done = false;
      const subscription = traceStorage.run(new TraceFrame(context, 0), () =>
        next.handle().subscribe({
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
        }),
      );
      return () => {
        subscription.unsubscribe();
        if (!done) {
          context.markCancelled(0);
          context.endSpan(0, false);
        }
      };
    });
  }
}
