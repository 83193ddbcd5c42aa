import type { TraceSink } from '../context/active-trace.js';
import { traceMethod } from '../decorators/traced-method.js';
import type { DiscoveredHandler, EntryPoint } from './entry-point.js';

type Method = (this: unknown, ...args: unknown[]) => unknown;
type ClassType = DiscoveredHandler['type'];

/** The classes Nest knows, as `DiscoveryService` lists them (its wrappers' `metatype`). */
export interface DiscoveredClasses {
  controllers: readonly { metatype: unknown }[];
  providers: readonly { metatype: unknown }[];
}

function* prototypes(prototype: object): Generator<object> {
  for (
    let proto: object | null = prototype;
    proto && proto !== Object.prototype;
    proto = Object.getPrototypeOf(proto) as object | null
  ) {
    yield proto;
  }
}

/** Every method name of a class, own and inherited (a handler may be declared on a base class). */
function methodNames(prototype: object): string[] {
  const names = new Set<string>();
  for (const proto of prototypes(prototype)) {
    for (const name of Object.getOwnPropertyNames(proto)) if (name !== 'constructor') names.add(name);
  }
  return [...names];
}

function findDescriptor(prototype: object, name: string): PropertyDescriptor | undefined {
  for (const proto of prototypes(prototype)) {
    const descriptor = Object.getOwnPropertyDescriptor(proto, name);
    if (descriptor) return descriptor;
  }
  return undefined;
}

function classesOf(wrappers: readonly { metatype: unknown }[]): ClassType[] {
  const types = new Set<ClassType>();
  for (const wrapper of wrappers) {
    const type: unknown = wrapper.metatype;
    if (typeof type !== 'function') continue;
    const candidate = type as unknown as ClassType;
    if (typeof candidate.prototype === 'object') types.add(candidate);
  }
  return [...types];
}

/**
 * Makes every handler the root of its own trace, with no global interceptor (which would make Nest run its RxJS
 * pipeline on every call): each entry point is offered every method of the classes it looks at, and the handlers it
 * claims get a wrapper (the one `@Trace` uses) that roots their trace as the entry point says. The wrapper replaces
 * the method on its class's prototype, so this must run before Nest binds routes, gateways and message handlers —
 * that is, while providers are created (see `TRACE_ENTRY_BINDING` in trace.module.ts), not in a lifecycle hook.
 * A class is bound by the first entry point that claims one of its methods, and each method at most once.
 * Returns the names of the classes it bound.
 */
export function bindEntryPoints(
  classes: DiscoveredClasses,
  entryPoints: readonly EntryPoint[],
  sink: () => TraceSink | undefined,
): string[] {
  const bound: string[] = [];
  const seen = new Set<ClassType>();
  for (const kind of ['controllers', 'providers'] as const) {
    for (const type of classesOf(classes[kind])) {
      if (seen.has(type)) continue;
      seen.add(type);
      const prototype = type.prototype;
      if (prototype === undefined) continue;
      const candidates = entryPoints.filter(
        (entry) => (entry.classes === kind || entry.classes === 'both') && entry.accepts(type),
      );
      if (candidates.length === 0) continue;
      const claimed = new Set<EntryPoint>();
      for (const name of methodNames(prototype)) {
        const descriptor = findDescriptor(prototype, name);
        const fn = descriptor?.value as Method | undefined;
        if (!descriptor || typeof fn !== 'function' || !descriptor.configurable) continue;
        for (const entry of candidates) {
          const root = entry.rootFor({ type, name, fn }, sink);
          if (root === undefined) continue;
          Object.defineProperty(prototype, name, {
            ...descriptor,
            value: traceMethod(fn, name, { root, span: root.insideTrace === 'span' }),
          });
          claimed.add(entry);
          break;
        }
      }
      for (const entry of claimed) entry.bound?.(type);
      if (claimed.size > 0) bound.push(type.name);
    }
  }
  return bound;
}
