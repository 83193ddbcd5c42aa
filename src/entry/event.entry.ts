import type { TraceOrigin } from '../context/active-trace.js';
import type { EntryPoint } from './entry-point.js';
import { eventListeners } from './nest-metadata.accessor.js';

/** An event name as a route: `room.created`; an eventemitter2 namespace array joined with dots; a symbol's description. */
export function eventName(event: unknown): string {
  if (typeof event === 'string') return event;
  if (Array.isArray(event)) return event.map(eventName).join('.');
  if (typeof event === 'symbol') return event.description ?? event.toString();
  return String(event);
}

/**
 * The `event` transport: `@OnEvent` methods of `@nestjs/event-emitter`, `route` the event name as declared (a
 * wildcard listener's pattern, `room.*`; the names of a method with several `@OnEvent`, joined by `, `).
 *
 * Emitted outside any trace (a timer, a bootstrap hook), a listener opens a trace of its own. Emitted inside one:
 * - a listener that `emit` calls synchronously (the default) is part of the work that emitted: a child span of the
 *   emitting span, so a request's report shows the time its listeners took;
 * - a listener declared `{ async: true }` (or `nextTick: true`) runs detached, after the emitter moved on: it opens a trace of its own, with
 *   a new trace id (an event carries no trace context on purpose).
 * The emitter sees the same return values and errors (`emitAsync`, `suppressErrors: false`) as without tracing.
 */
export function eventEntryPoint(): EntryPoint {
  return {
    transport: 'event',
    classes: 'both',
    accepts: () => true,
    rootFor: ({ type, name, fn }, sink) => {
      const listeners = eventListeners(fn);
      if (listeners === undefined) return undefined;
      const route = listeners.map((listener) => eventName(listener.event)).join(', ');
      const detached = listeners.every(
        (listener) => listener.options?.async === true || listener.options?.nextTick === true,
      );
      return {
        sink,
        name: `${type.name}.${name}`,
        insideTrace: detached ? 'root' : 'span',
        origin: (): TraceOrigin => ({ transport: 'event', handlerClass: type, handlerName: name, route }),
      };
    },
  };
}
