import type { ModulesContainer } from '@nestjs/core';
import type { TraceSink } from '../context/trace-context.js';
import { traceMethod } from '../decorators/traced-method.js';
import { findSocket, wsOrigin } from './handler-info.js';

// @nestjs/websockets metadata keys, read by value so the package stays optional.
const GATEWAY_METADATA = 'websockets:is_gateway';
const MESSAGE_MAPPING_METADATA = 'websockets:message_mapping';
const MESSAGE_METADATA = 'message';
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

/**
 * Makes every gateway handler (and `handleConnection` / `handleDisconnect`) open a trace when it is called
 * outside one. Nest 11 never runs global interceptors for gateways (nestjs/nest#1598) and no Nest version
 * runs them for connection events; on Nest 12 the interceptor opens the trace first and this only claims
 * its root span. Runs while providers are created, before `app.init()` binds the gateways' handlers.
 * Returns the gateway classes it bound.
 */
export function bindGateways(modules: ModulesContainer, sink: () => TraceSink | undefined): string[] {
  const bound: string[] = [];
  const seen = new Set<unknown>();
  for (const module of modules.values()) {
    for (const wrapper of module.providers.values()) {
      const type: unknown = wrapper.metatype;
      if (typeof type !== 'function' || seen.has(type)) continue;
      seen.add(type);
      const metatype = type as { prototype?: object; name: string };
      if (!metatype.prototype) continue;
      if (Reflect.getMetadata(GATEWAY_METADATA, metatype) !== true) continue;
      const handlerClass = metatype as { name: string };
      const prototype = metatype.prototype;
      for (const name of methodNames(prototype)) {
        const descriptor = findDescriptor(prototype, name);
        const fn = descriptor?.value as Method | undefined;
        if (!descriptor || typeof fn !== 'function' || !descriptor.configurable) continue;
        const lifecycle = LIFECYCLE_EVENTS[name];
        if (lifecycle === undefined && Reflect.getMetadata(MESSAGE_MAPPING_METADATA, fn) !== true) continue;
        const event = lifecycle ?? String(Reflect.getMetadata(MESSAGE_METADATA, fn));
        const traced = traceMethod(fn, name, {
          root: { sink, origin: (args) => wsOrigin(handlerClass, name, event, findSocket(args)) },
        });
        Object.defineProperty(prototype, name, { ...descriptor, value: traced });
      }
      bound.push(handlerClass.name);
    }
  }
  return bound;
}
