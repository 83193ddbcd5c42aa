import type { NestInterceptor } from '@nestjs/common';
import type { TraceOrigin } from '../context/active-trace.js';
import type { EntryPoint } from './entry-point.js';
import { patternName, withParent } from './handler-origin.js';
import { isGateway, isMessageHandler, messageEvent, prependClassInterceptor } from './nest-metadata.accessor.js';

interface SocketLike {
  handshake?: { headers?: Record<string, unknown>; auth?: Record<string, unknown> };
}

const LIFECYCLE_EVENTS: Record<string, string> = { handleConnection: 'connection', handleDisconnect: 'disconnect' };
// A handler's event never changes: computed once, not per message.
const events = new WeakMap<object, string>();

/** Finds the Socket.IO socket among a gateway handler's arguments. */
function findSocket(args: readonly unknown[]): SocketLike | undefined {
  for (const arg of args) {
    if (arg !== null && typeof arg === 'object' && 'handshake' in arg) return arg as SocketLike;
  }
  return undefined;
}

function origin(handlerClass: { name: string }, handlerName: string, event: string, socket: unknown): TraceOrigin {
  const handshake = (socket as SocketLike | undefined)?.handshake;
  return withParent(
    { transport: 'ws', handlerClass, handlerName, route: event },
    handshake?.headers?.traceparent ?? handshake?.auth?.traceparent,
  );
}

/** Trace origin of a gateway message handler called by Nest (`socket` is the client of the execution context). */
export function wsOrigin(
  handlerClass: { name: string },
  handler: object & { name: string },
  socket: unknown,
): TraceOrigin {
  let event = events.get(handler);
  if (event === undefined) {
    const value = messageEvent(handler);
    events.set(handler, (event = patternName(Array.isArray(value) ? (value as unknown[])[0] : value)));
  }
  return origin(handlerClass, handler.name, event, socket);
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
 * The `ws` transport: `@SubscribeMessage` handlers of `@WebSocketGateway` classes, whose trace `TraceInterceptor`
 * opens (put first on each gateway class: Nest 11 never runs global interceptors for gateways, nestjs/nest#1598), and
 * `handleConnection` / `handleDisconnect`, for which no Nest version runs interceptors, so their wrapper opens the
 * trace itself, only when called with a live socket.
 */
export function wsEntryPoint(interceptor: NestInterceptor | undefined): EntryPoint {
  return {
    transport: 'ws',
    classes: 'providers',
    accepts: (type) => isGateway(type),
    rootFor: ({ type, name, fn }, sink) => {
      const lifecycle = LIFECYCLE_EVENTS[name];
      if (lifecycle !== undefined) {
        return {
          sink,
          name: `${type.name}.${name}`,
          origin: (args) => origin(type, name, lifecycle, findSocket(args)),
          opensOn: liveSocket,
        };
      }
      return isMessageHandler(fn) ? { sink, name: `${type.name}.${name}` } : undefined;
    },
    bound: (type) => {
      if (interceptor) prependClassInterceptor(type, interceptor);
    },
  };
}
