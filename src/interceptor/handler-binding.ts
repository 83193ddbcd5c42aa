import type { ModulesContainer } from '@nestjs/core';
import type { TraceSink } from '../context/trace-context.js';
import { traceMethod } from '../decorators/traced-method.js';
import { findSocket, rpcOrigin, wsOrigin } from './handler-info.js';
import type { RootSpec } from '../decorators/traced-method.js';

// @nestjs/websockets and @nestjs/microservices metadata keys, read by value so both packages stay optional.
const GATEWAY_METADATA = 'websockets:is_gateway';
const MESSAGE_MAPPING_METADATA = 'websockets:message_mapping';
const MESSAGE_METADATA = 'message';
const PATTERN_METADATA = 'microservices:pattern';
const LIFECYCLE_EVENTS: Record<string, string> = { handleConnection: 'connection', handleDisconnect: 'disconnect' };

type Method = (this: unknown, ...args: unknown[]) => unknown;

function methodNames(prototype: object): string[] {
  const names = new Set<string>();
  for (let proto: object | null = prototype; proto && proto !== Object.prototype; proto = Object.getPrototypeOf(proto) as object | null) {
    for (const name of Object.getOwnPropertyNames(proto)) if (name !== 'constructor') names.add(name);
  }
  return [...names];
}

function findDescriptor(prototype: object, name: string): PropertyDescriptor | undefined {
  for (let proto: object | null = prototype; proto && proto !== Object.prototype; proto = Object.getPrototypeOf(proto) as object | null) {
    const descriptor = Object.getOwnPropertyDescriptor(proto, name);
    if (descriptor) return descriptor;
  }
  return undefined;
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
 * Makes every gateway handler (and `handleConnection` / `handleDisconnect`) and every RPC handler open a trace when
 * it is called outside one. Nest 11 never runs global interceptors for gateways (nestjs/nest#1598), no Nest version
 * runs them for connection events, and a hybrid app's microservice only gets them with `inheritAppConfig`.
 * Where the interceptor does run, it opens the trace first and the handler only claims its root span.
 * Runs while providers are created, before `app.init()` binds the handlers. Returns the classes it bound.
 */
export function bindHandlers(modules: ModulesContainer, sink: () => TraceSink | undefined): string[] {
  const bound: string[] = [];
  const seen = new Set<unknown>();
  const wsRoot: RootFor = (handlerClass, name, fn) => {
    const lifecycle = LIFECYCLE_EVENTS[name];
    if (lifecycle === undefined && Reflect.getMetadata(MESSAGE_MAPPING_METADATA, fn) !== true) return undefined;
    const event = lifecycle ?? String(Reflect.getMetadata(MESSAGE_METADATA, fn));
    return { sink, name: `${handlerClass.name}.${name}`, origin: (args) => wsOrigin(handlerClass, name, event, findSocket(args)) };
  };
  const rpcRoot: RootFor = (handlerClass, name, fn) => {
    const patterns: unknown = Reflect.getMetadata(PATTERN_METADATA, fn);
    if (patterns === undefined) return undefined;
    const pattern: unknown = Array.isArray(patterns) ? patterns[0] : patterns;
    return { sink, name: `${handlerClass.name}.${name}`, origin: (args) => rpcOrigin(handlerClass, name, pattern, args[0]) };
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
        if (isGateway ? bindClass(metatype, wsRoot) : kind === 'controller' && bindClass(metatype, rpcRoot)) bound.push(metatype.name);
      }
    }
  }
  return bound;
}
