import type { ExecutionContext } from '@nestjs/common';
import type { TraceOrigin } from '../context/trace-context.js';
import { parseTraceparent } from '../utils/traceparent.util.js';

// Metadata keys of @nestjs/websockets and @nestjs/microservices, read by value so neither package is needed.
const MESSAGE_METADATA = 'message';
const PATTERN_METADATA = 'microservices:pattern';

export interface HttpRequestLike {
  method?: string;
  headers?: Record<string, unknown>;
  route?: { path?: unknown };
  routeOptions?: { url?: unknown };
  routerPath?: unknown;
}

interface SocketLike {
  handshake?: { headers?: Record<string, unknown>; auth?: Record<string, unknown> };
}

// Event names, RPC patterns and span names never change for a handler: computed once, not per request.
const eventNames = new WeakMap<object, string>();
const spanNames = new WeakMap<object, string>();

/** `Class.method` of a handler, remembered per handler function. */
export function handlerSpanName(origin: TraceOrigin, handler: object): string {
  let name = spanNames.get(handler);
  if (name === undefined) {
    name = origin.handlerClass ? `${origin.handlerClass.name}.${origin.handlerName}` : origin.handlerName;
    spanNames.set(handler, name);
  }
  return name;
}

function patternName(pattern: unknown): string {
  if (typeof pattern === 'string') return pattern;
  try {
    return JSON.stringify(pattern) ?? String(pattern);
  } catch {
    return String(pattern);
  }
}

/** Trace origin of an RPC message (`data` may carry a W3C `traceparent` field). */
export function rpcOrigin(
  handlerClass: { name: string },
  handlerName: string,
  pattern: unknown,
  data: unknown,
): TraceOrigin {
  const traceparent =
    data !== null && typeof data === 'object' ? (data as { traceparent?: unknown }).traceparent : undefined;
  return withParent({ transport: 'rpc', handlerClass, handlerName, route: patternName(pattern) }, traceparent);
}

function handlerEvent(handler: object, type: 'ws' | 'rpc'): string {
  let name = eventNames.get(handler);
  if (name === undefined) {
    const value: unknown = Reflect.getMetadata(type === 'ws' ? MESSAGE_METADATA : PATTERN_METADATA, handler);
    name = patternName(Array.isArray(value) ? value[0] : value);
    eventNames.set(handler, name);
  }
  return name;
}

function withParent(origin: TraceOrigin, traceparent: unknown): TraceOrigin {
  const parent = parseTraceparent(traceparent);
  if (parent) {
    origin.parentTraceId = parent.traceId;
    origin.parentSpanId = parent.spanId;
  }
  return origin;
}

/** The matched route pattern of an HTTP request (Express `req.route`, Fastify `routeOptions.url`), never the raw URL. */
export function routePattern(request: HttpRequestLike): string | undefined {
  const path = request.route?.path ?? request.routeOptions?.url ?? request.routerPath;
  return typeof path === 'string' ? path : undefined;
}

/**
 * The origin of an HTTP trace once its handler is known; `pending` is the middleware's origin, whose incoming
 * `traceparent` was already parsed.
 */
export function httpHandlerOrigin(
  pending: TraceOrigin,
  request: HttpRequestLike | undefined,
  handlerClass: { name: string },
  handlerName: string,
): TraceOrigin {
  return {
    transport: 'http',
    handlerClass,
    handlerName,
    method: pending.method ?? request?.method,
    route: request === undefined ? undefined : routePattern(request),
    parentTraceId: pending.parentTraceId,
    parentSpanId: pending.parentSpanId,
  };
}

/** Origin of an HTTP request before its handler is known (the middleware's trace). */
export function pendingHttpOrigin(request: HttpRequestLike): TraceOrigin {
  return withParent({ transport: 'http', handlerName: '', method: request.method }, request.headers?.traceparent);
}

/** Finds the Socket.IO socket among a gateway handler's arguments. */
export function findSocket(args: readonly unknown[]): SocketLike | undefined {
  for (const arg of args) {
    if (arg !== null && typeof arg === 'object' && 'handshake' in arg) return arg as SocketLike;
  }
  return undefined;
}

/** Trace origin of a socket event (`event` is the event name, or `connection` / `disconnect`). */
export function wsOrigin(
  handlerClass: { name: string },
  handlerName: string,
  event: string,
  socket: SocketLike | undefined,
): TraceOrigin {
  const handshake = socket?.handshake;
  return withParent(
    { transport: 'ws', handlerClass, handlerName, route: event },
    handshake?.headers?.traceparent ?? handshake?.auth?.traceparent,
  );
}

/** Handler, route and incoming trace of a Nest execution context; `undefined` for transports it does not know. */
export function originOf(context: ExecutionContext): TraceOrigin | undefined {
  const handler = context.getHandler();
  const handlerClass = context.getClass();
  const type = context.getType<string>();
  if (type === 'http') {
    const request = context.switchToHttp().getRequest<HttpRequestLike>();
    return withParent(
      {
        transport: 'http',
        handlerClass,
        handlerName: handler.name,
        method: request.method,
        route: routePattern(request),
      },
      request.headers?.traceparent,
    );
  }
  if (type === 'ws') {
    return wsOrigin(
      handlerClass,
      handler.name,
      handlerEvent(handler, 'ws'),
      context.switchToWs().getClient<SocketLike>(),
    );
  }
  if (type === 'rpc') {
    return rpcOrigin(handlerClass, handler.name, handlerEvent(handler, 'rpc'), context.switchToRpc().getData());
  }
  return undefined;
}
