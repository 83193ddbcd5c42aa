import type { NestInterceptor } from '@nestjs/common';
import type { TraceOrigin } from '../context/active-trace.js';
import type { EntryPoint } from './entry-point.js';
import { patternName, withParent } from './handler-origin.js';
import { messagePattern, prependClassInterceptor } from './nest-metadata.accessor.js';

// A handler's pattern never changes: computed once, not per message.
const routes = new WeakMap<object, string>();

/** Trace origin of an RPC message (`data` may carry a W3C `traceparent` field). */
export function rpcOrigin(
  handlerClass: { name: string },
  handler: object & { name: string },
  data: unknown,
): TraceOrigin {
  let route = routes.get(handler);
  if (route === undefined) routes.set(handler, (route = patternName(messagePattern(handler)?.pattern)));
  const traceparent =
    data !== null && typeof data === 'object' ? (data as { traceparent?: unknown }).traceparent : undefined;
  return withParent({ transport: 'rpc', handlerClass, handlerName: handler.name, route }, traceparent);
}

/**
 * The `rpc` transport: `@MessagePattern` / `@EventPattern` handlers of controllers. Their trace is opened by
 * `TraceInterceptor`, put first on each such controller (a class interceptor: a hybrid app's microservice gets global
 * ones only with `inheritAppConfig`), so a handler called directly (a unit test) stays untraced.
 */
export function rpcEntryPoint(interceptor: NestInterceptor | undefined): EntryPoint {
  return {
    transport: 'rpc',
    classes: 'controllers',
    accepts: () => true,
    rootFor: ({ type, name, fn }, sink) =>
      messagePattern(fn) === undefined ? undefined : { sink, name: `${type.name}.${name}` },
    bound: (type) => {
      if (interceptor) prependClassInterceptor(type, interceptor);
    },
  };
}
