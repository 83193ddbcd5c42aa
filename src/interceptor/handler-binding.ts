import type { NestInterceptor } from '@nestjs/common';
import type { ModulesContainer } from '@nestjs/core';
import type { TraceSink } from '../context/trace-context.js';
import { traceMethod } from '../decorators/traced-method.js';
import type { TraceContext } from '../context/trace-context.js';
import { findSocket, httpHandlerOrigin, wsOrigin } from './handler-info.js';
import type { HttpRequestLike } from './handler-info.js';
import type { RootSpec } from '../decorators/traced-method.js';

// @nestjs/websockets and @nestjs/microservices metadata keys, read by value so both packages stay optional.
const GATEWAY_METADATA = 'websockets:is_gateway';
const MESSAGE_MAPPING_METADATA = 'websockets:message_mapping';
const PATTERN_METADATA = 'microservices:pattern';
// @nestjs/common's route metadata (`@Get()` and friends set both).
const PATH_METADATA = 'path';
const METHOD_METADATA = 'method';
// @nestjs/common's `@UseInterceptors` metadata key.
const INTERCEPTORS_METADATA = '__interceptors__';
const LIFECYCLE_EVENTS: Record<string, string> = { handleConnection: 'connection', handleDisconnect: 'disconnect' };

type Method = (this: unknown, ...args: unknown[]) => unknown;

function methodNames(prototype: object): string[] {
  const names = new Set<string>();
  for (
    let proto: object | null = prototype;
    proto && proto !== Object.prototype;
    proto = Object.getPrototypeOf(proto) as object | null
  ) {
    for (const name of Object.getOwnPropertyNames(proto)) if (name !== 'constructor') names.add(name);
  }
  return [...names];
}

function findDescriptor(prototype: object, name: string): PropertyDescriptor | undefined {
  for (
    let proto: object | null = prototype;
    proto && proto !== Object.prototype;
    proto = Object.getPrototypeOf(proto) as object | null
  ) {
    const descriptor = Object.getOwnPropertyDescriptor(proto, name);
    if (descriptor) return descriptor;
  }
  return undefined;
}

/**
 * Puts the trace interceptor first on a gateway or RPC controller class, as `@UseInterceptors` would: it opens the
 * trace before the class's own interceptors and reads the socket's handshake from the execution context, which the
 * handler's arguments may not carry. An instance, because the class was never registered with the module. Class
 * interceptors run on every Nest version, unlike global ones (nestjs/nest#1598), and only for this class's handlers.
 */
function useInterceptor(metatype: object, interceptor: NestInterceptor): void {
  const existing: unknown = Reflect.getMetadata(INTERCEPTORS_METADATA, metatype);
  const list = Array.isArray(existing) ? (existing as unknown[]) : [];
  if (list.includes(interceptor)) return;
  Reflect.defineMetadata(INTERCEPTORS_METADATA, [interceptor, ...list], metatype);
}

type RootFor = (handlerClass: { name: string }, name: string, fn: Method) => RootSpec | undefined;

function bindClass(metatype: { prototype?: object; name: string }, rootFor: RootFor): boolean {
  const prototype = metatype.prototype;
  if (!prototype) return false;
  let bound = false;
  for (const name of methodNames(prototype)) {
    const descriptor = findDescriptor(prototype, name);
    const fn = descriptor?.value as Method | undefined;
    if (!descriptor || typeof fn !== 'function' || !descriptor.configurable) continue;
    const root = rootFor(metatype, name, fn);
    if (!root) continue;
    Object.defineProperty(prototype, name, { ...descriptor, value: traceMethod(fn, name, { root }) });
    bound = true;
  }
  return bound;
}

/**
 * Whether a connection hook was called by Nest for a real connection: its first argument is a connected socket.io
 * `Socket` (it has its namespace and its engine connection) or a `ws` WebSocket (a numeric `readyState` and a `send`
 * method). A unit test calling the hook with a hand-made stand-in gets no trace, as a direct call to any handler.
 */
function liveSocket(args: readonly unknown[]): boolean {
  const socket = args[0];
  if (socket === null || typeof socket !== 'object') return false;
  const candidate = socket as {
    nsp?: unknown;
    conn?: unknown;
    handshake?: unknown;
    readyState?: unknown;
    send?: unknown;
  };
  const socketIo =
    typeof candidate.handshake === 'object' && typeof candidate.nsp === 'object' && typeof candidate.conn === 'object';
  return socketIo || (typeof candidate.readyState === 'number' && typeof candidate.send === 'function');
}

/**
 * Makes every handler the root of its own trace, with no global interceptor (which would make Nest run its RxJS
 * pipeline on every call):
 * - an HTTP route handler names and claims the trace the HTTP middleware opened for its request;
 * - a gateway or RPC handler is the root of the trace TraceInterceptor opens, put on its class here (a class
 *   interceptor: Nest 11 never runs global interceptors for gateways, nestjs/nest#1598, and a hybrid app's
 *   microservice only gets them with `inheritAppConfig`);
 * - `handleConnection` / `handleDisconnect`, for which no Nest version runs interceptors, open a trace when called
 *   outside one with a live socket.
 * A handler called directly (a unit test) opens no trace: only Nest's pipeline (the middleware, the interceptor, the
 * socket server's connection events) does.
 * Where an app binds `TraceInterceptor` itself, it opens the trace first and the handler only claims its root span.
 * Runs while providers are created, before `app.init()` binds the handlers. Returns the classes it bound.
 */
export function bindHandlers(
  modules: ModulesContainer,
  sink: () => TraceSink | undefined,
  interceptor?: NestInterceptor,
): string[] {
  const bound: string[] = [];
  const seen = new Set<unknown>();
  const wsRoot: RootFor = (handlerClass, name, fn) => {
    const lifecycle = LIFECYCLE_EVENTS[name];
    if (lifecycle === undefined && Reflect.getMetadata(MESSAGE_MAPPING_METADATA, fn) !== true) return undefined;
    // A message handler's trace is opened by TraceInterceptor, which Nest's pipeline runs for it: the method itself
    // opens none, so calling it directly (a unit test) stays untraced. No Nest version runs interceptors for the
    // connection hooks, so those open their trace themselves, only when called with a live socket (see liveSocket).
    if (lifecycle === undefined) return { sink, name: `${handlerClass.name}.${name}` };
    return {
      sink,
      name: `${handlerClass.name}.${name}`,
      origin: (args) => wsOrigin(handlerClass, name, lifecycle, findSocket(args)),
      opensOn: liveSocket,
    };
  };
  const rpcRoot: RootFor = (handlerClass, name, fn) => {
    const patterns: unknown = Reflect.getMetadata(PATTERN_METADATA, fn);
    if (patterns === undefined) return undefined;
    // The trace is opened by TraceInterceptor, put on the controller below: a direct call stays untraced.
    return { sink, name: `${handlerClass.name}.${name}` };
  };
  const httpRoot: RootFor = (handlerClass, name, fn) => {
    if (Reflect.getMetadata(PATH_METADATA, fn) === undefined || Reflect.getMetadata(METHOD_METADATA, fn) === undefined)
      return undefined;
    const spanName = `${handlerClass.name}.${name}`;
    return {
      sink,
      name: spanName,
      // No `origin`: only the HTTP middleware opens HTTP traces, so a controller method called directly stays untraced.
      adopt: (context: TraceContext) =>
        context.adoptHandler(
          httpHandlerOrigin(context.origin, context.request as HttpRequestLike | undefined, handlerClass, name),
          spanName,
          undefined,
        ),
    };
  };
  // Controllers with message patterns, seen while their handlers are bound: they get the interceptor too.
  const rpcControllers = new Set<object>();
  const controllerRoot: RootFor = (handlerClass, name, fn) => {
    const rpc = rpcRoot(handlerClass, name, fn);
    if (rpc) rpcControllers.add(handlerClass);
    return rpc ?? httpRoot(handlerClass, name, fn);
  };
  for (const module of modules.values()) {
    const classes: [Iterable<{ metatype: unknown }>, 'provider' | 'controller'][] = [
      [module.providers.values(), 'provider'],
      [module.controllers.values(), 'controller'],
    ];
    for (const [wrappers, kind] of classes) {
      for (const wrapper of wrappers) {
        const type: unknown = wrapper.metatype;
        if (typeof type !== 'function' || seen.has(type)) continue;
        seen.add(type);
        const metatype = type as { prototype?: object; name: string };
        const isGateway = kind === 'provider' && Reflect.getMetadata(GATEWAY_METADATA, metatype) === true;
        if (isGateway ? bindClass(metatype, wsRoot) : kind === 'controller' && bindClass(metatype, controllerRoot))
          bound.push(metatype.name);
        if (interceptor && (isGateway || rpcControllers.has(metatype))) useInterceptor(metatype, interceptor);
      }
    }
  }
  return bound;
}
