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
  /** `@nestjs/schedule`: which of `@Cron` (1), `@Timeout` (2), `@Interval` (3) a method has. */
  schedulerType: 'SCHEDULER_TYPE',
  /** `@nestjs/schedule`: the job name given to `@Cron` / `@Interval` / `@Timeout`. */
  schedulerName: 'SCHEDULER_NAME',
  /** `@nestjs/schedule`: `@Cron` options, with `cronTime`. */
  cronOptions: 'SCHEDULE_CRON_OPTIONS',
  /** `@nestjs/schedule`: `@Interval` options (`{ timeout }`: the period in ms). */
  intervalOptions: 'SCHEDULE_INTERVAL_OPTIONS',
  /** `@nestjs/schedule`: `@Timeout` options (`{ timeout }`: the delay in ms). */
  timeoutOptions: 'SCHEDULE_TIMEOUT_OPTIONS',
  /** `@nestjs/event-emitter`: the `{ event, options }` list of `@OnEvent` on a method. */
  eventListener: 'EVENT_LISTENER_METADATA',
  /** `@nestjs/bullmq`: `@Processor()` options on a class (`{ name }`: the queue). */
  processor: 'bullmq:processor_metadata',
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

/** A scheduled job of `@nestjs/schedule`, as its decorator described it. */
export type ScheduledJob =
  | { kind: 'cron'; name: string | undefined; cronTime: unknown }
  | { kind: 'interval'; name: string | undefined; ms: number }
  | { kind: 'timeout'; name: string | undefined; ms: number };

const SCHEDULER_TYPES = { 1: 'cron', 2: 'timeout', 3: 'interval' } as const;

/** The `@Cron` / `@Interval` / `@Timeout` job of a method, or `undefined`. */
export function scheduledJob(handler: Target): ScheduledJob | undefined {
  const kind = SCHEDULER_TYPES[read(NEST_METADATA.schedulerType, handler) as keyof typeof SCHEDULER_TYPES];
  if (kind === undefined) return undefined;
  const rawName = read(NEST_METADATA.schedulerName, handler);
  const name = typeof rawName === 'string' ? rawName : undefined;
  if (kind === 'cron') {
    const options = read(NEST_METADATA.cronOptions, handler) as { cronTime?: unknown } | undefined;
    return { kind, name, cronTime: options?.cronTime };
  }
  const key = kind === 'interval' ? NEST_METADATA.intervalOptions : NEST_METADATA.timeoutOptions;
  const timeout = (read(key, handler) as { timeout?: unknown } | undefined)?.timeout;
  return { kind, name, ms: typeof timeout === 'number' ? timeout : Number.NaN };
}

/** One `@OnEvent(event, options)` of a method. */
export interface EventListenerMetadata {
  event: unknown;
  /** eventemitter2 runs an `async` or `nextTick` listener later, detached from the `emit` call. */
  options?: { async?: unknown; nextTick?: unknown };
}

/** One `@OnEvent(event, options)` of a method. */
export interface EventListenerMetadata {
  event: unknown;
  /** eventemitter2 runs an `async` or `nextTick` listener later, detached from the `emit` call. */
  options?: { async?: unknown; nextTick?: unknown };
}

/** The `@OnEvent` listeners of a method (`event` and options), or `undefined`. */
export function eventListeners(handler: Target): readonly EventListenerMetadata[] | undefined {
  const list = read(NEST_METADATA.eventListener, handler);
  return Array.isArray(list) && list.length > 0 ? (list as EventListenerMetadata[]) : undefined;
}

/** The queue name of a `@Processor()` class of `@nestjs/bullmq`, or `undefined`. */
export function processorQueue(type: Target): string | undefined {
  const options = read(NEST_METADATA.processor, type) as { name?: unknown } | undefined;
  if (options === undefined || options === null) return undefined;
  return typeof options.name === 'string' ? options.name : '';
}
