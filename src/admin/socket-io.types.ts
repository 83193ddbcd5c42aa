// Structural stand-ins for the few socket.io shapes the admin UI needs, so that socket.io stays an optional peer.

/** The part of a socket.io `Server` that `@socket.io/admin-ui` uses. */
export interface SocketIoServerLike {
  of(name: string): unknown;
  /** The Socket.IO path (`'/socket.io'` unless the app changed it). */
  path?(): string;
}

/** A socket.io `Namespace` (what a namespaced gateway's `@WebSocketServer()` holds): its `server` is the `Server`. */
export interface SocketIoNamespaceLike {
  readonly name: string;
  readonly server: SocketIoServerLike;
}

/** `@socket.io/admin-ui`'s `instrument`, as this library calls it. */
export type AdminUiInstrument = (io: SocketIoServerLike, options: Record<string, unknown>) => void;
