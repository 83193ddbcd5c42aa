import 'reflect-metadata';
import { SpanStatusCode, trace } from '@opentelemetry/api';
import type { Span as ApiSpan } from '@opentelemetry/api';

/**
 * A faithful stand-in for nestjs-otel's `@Span` (src/tracing/decorators/span.ts; nestjs-otel itself is not a dev
 * dependency): the method is replaced by a `Proxy` whose `apply` looks the tracer up per call, builds the span name,
 * runs the original inside `tracer.startActiveSpan`, ends the span in `finally` (or in `.finally` for an
 * `AsyncFunction`), records exceptions, and the decorator copies `Reflect.getMetadataKeys` onto the proxy.
 */
export function OtelSpan(name?: string) {
  return (target: object, propertyKey: string | symbol, descriptor: PropertyDescriptor): void => {
    const originalFunction = descriptor.value as (this: unknown, ...args: unknown[]) => unknown;
    const wrappedFunction = function PropertyDescriptor(this: unknown, ...args: unknown[]): unknown {
      const tracer = trace.getTracer('default');
      const spanName = name || `${target.constructor.name}.${String(propertyKey)}`;
      return tracer.startActiveSpan(spanName, {}, (span) => {
        if (originalFunction.constructor.name === 'AsyncFunction') {
          return (originalFunction.apply(this, args) as Promise<unknown>)
            .catch((error: unknown) => {
              recordException(span, error);
              throw error;
            })
            .finally(() => span.end());
        }
        try {
          return originalFunction.apply(this, args);
        } catch (error) {
          recordException(span, error);
          throw error;
        } finally {
          span.end();
        }
      });
    };
    descriptor.value = new Proxy(originalFunction, {
      apply: (_, thisArg: unknown, args: unknown[]) => wrappedFunction.apply(thisArg, args),
    });
    copyMetadataFromFunctionToFunction(originalFunction, descriptor.value as object);
  };
}

function recordException(span: ApiSpan, error: unknown): void {
  span.recordException(error as Error);
  span.setStatus({ code: SpanStatusCode.ERROR, message: (error as Error | undefined)?.message });
}

function copyMetadataFromFunctionToFunction(originalFunction: object, newFunction: object): void {
  for (const key of Reflect.getMetadataKeys(originalFunction) as unknown[]) {
    Reflect.defineMetadata(key, Reflect.getMetadata(key, originalFunction), newFunction);
  }
}
