/**
 * The one file that knows Nest's metadata keys. They are read by value, so `@nestjs/websockets` and
 * `@nestjs/microservices` stay optional; test/unit/entry/nest-metadata.accessor.spec.ts pins each one to the constant
 * the Nest package exports, as the mysql2 / ioredis internals are pinned.
 */
export const NEST_METADATA = {
  /** `@nestjs/common`: route path of `@Get()` and friends (set on the handler). */
  path: 'path',
  /** `@nestjs/common`: request method of `@Get()` and friends. */
  method: 'method',
  /** `@nestjs/common`: `@UseInterceptors` list on a class or handler. */
  interceptors: '__interceptors__',
  /** `@nestjs/websockets`: `@WebSocketGateway()` on a class. */
  gateway: 'websockets:is_gateway',
  /** `@nestjs/websockets`: `@WebSocketServer()` on a gateway property (set on the instance's prototype). */
  gatewayServer: 'websockets:is_socket',
  /** `@nestjs/websockets`: `@SubscribeMessage()` on a handler. */
  messageMapping: 'websockets:message_mapping',
  /** `@nestjs/websockets`: the event name of `@SubscribeMessage(event)`. */
  message: 'message',
  /** `@nestjs/microservices`: the patterns of `@MessagePattern` / `@EventPattern`. */
  pattern: 'microservices:pattern',
} as const;

type Target = object;

function read(key: string, target: Target): unknown {
  return Reflect.getMetadata(key, target) as unknown;
}

/** Whether a handler has an HTTP route (`@Get()`, `@Post()`, …). */
export function isRouteHandler(handler: Target): boolean {
  return read(NEST_METADATA.path, handler) !== undefined && read(NEST_METADATA.method, handler) !== undefined;
}

/** Whether a class is a `@WebSocketGateway()`. */
export function isGateway(type: Target): boolean {
  return read(NEST_METADATA.gateway, type) === true;
}

/** Whether `key` of a gateway instance is its `@WebSocketServer()` property. */
export function isGatewayServerProperty(instance: object, key: string): boolean {
  return Reflect.getMetadata(NEST_METADATA.gatewayServer, instance, key) !== undefined;
}

/** Whether a handler is a `@SubscribeMessage()` handler. */
export function isMessageHandler(handler: Target): boolean {
  return read(NEST_METADATA.messageMapping, handler) === true;
}

/** The event of a `@SubscribeMessage(event)` handler. */
export function messageEvent(handler: Target): unknown {
  return read(NEST_METADATA.message, handler);
}

/** The first pattern of a `@MessagePattern` / `@EventPattern` handler, or `undefined` when it has none. */
export function messagePattern(handler: Target): { pattern: unknown } | undefined {
  const patterns = read(NEST_METADATA.pattern, handler);
  if (patterns === undefined) return undefined;
  return { pattern: Array.isArray(patterns) ? (patterns as unknown[])[0] : patterns };
}

/**
 * Puts `interceptor` first in a class's `@UseInterceptors` list, as the decorator would, so it runs before the
 * class's own interceptors.
 */
export function prependClassInterceptor(type: Target, interceptor: object): void {
  const existing = read(NEST_METADATA.interceptors, type);
  const list = Array.isArray(existing) ? (existing as unknown[]) : [];
  if (list.includes(interceptor)) return;
  Reflect.defineMetadata(NEST_METADATA.interceptors, [interceptor, ...list], type);
}
