import { MESSAGES } from '../trace.messages.js';
import { resolveSocketIoAdminOptions } from '../resolve-options.js';
import type { ResolvedSocketIoAdminOptions } from '../resolve-options.js';
import type { TraceSocketIoAdminOptions } from '../trace.options.js';
import type { AdminUiInstrument, SocketIoNamespaceLike, SocketIoServerLike } from './socket-io.types.js';

// Non-literal specifiers: TypeScript neither resolves nor types these optional packages.
const ADMIN_UI_PACKAGE: string = '@socket.io/admin-ui';
const BCRYPT_PACKAGE: string = 'bcryptjs';
const BCRYPT_HASH = /^\$2[abxy]?\$\d{2}\$[./A-Za-z0-9]{53}$/;
const BCRYPT_ROUNDS = 10;

type ModuleShape<T> = Partial<T> & { default?: Partial<T> };

function isServer(value: unknown): value is SocketIoServerLike {
  return typeof value === 'object' && value !== null && typeof (value as Partial<SocketIoServerLike>).of === 'function';
}

/**
 * The `Server` behind a gateway's `@WebSocketServer()`: a namespaced gateway holds a `Namespace`, which has no `of()`
 * (handing it to admin-ui as is fails with `io.of is not a function`).
 */
export function toSocketIoServer(target: unknown): SocketIoServerLike {
  if (isServer(target)) return target;
  const server =
    typeof target === 'object' && target !== null ? (target as Partial<SocketIoNamespaceLike>).server : undefined;
  if (isServer(server)) return server;
  throw new Error(MESSAGES.socketIoAdminNotAServer(target));
}

/** Loads `instrument` from `@socket.io/admin-ui`; a missing package is a bootstrap error naming the option. */
export async function loadAdminUi(): Promise<AdminUiInstrument> {
  let loaded: ModuleShape<{ instrument: AdminUiInstrument }>;
  try {
    loaded = (await import(ADMIN_UI_PACKAGE)) as ModuleShape<{ instrument: AdminUiInstrument }>;
  } catch (error) {
    throw new Error(MESSAGES.missingPackage('socketIoAdmin', '@socket.io/admin-ui'), { cause: error });
  }
  const instrument = loaded.instrument ?? loaded.default?.instrument;
  if (typeof instrument !== 'function')
    throw new Error(MESSAGES.missingPackage('socketIoAdmin', '@socket.io/admin-ui (a version with instrument())'));
  return instrument;
}

/** admin-ui only accepts a bcrypt hash; a plain password is hashed with bcryptjs, which admin-ui depends on. */
async function bcryptHash(password: string): Promise<string> {
  if (BCRYPT_HASH.test(password)) return password;
  try {
    const loaded = (await import(BCRYPT_PACKAGE)) as ModuleShape<{ hash(s: string, rounds: number): Promise<string> }>;
    const hash = loaded.hash ?? loaded.default?.hash;
    if (typeof hash !== 'function') throw new Error('bcryptjs has no hash()');
    return await hash(password, BCRYPT_ROUNDS);
  } catch (error) {
    throw new Error(MESSAGES.socketIoAdminPasswordHash(error), { cause: error });
  }
}

/** Mounts the admin namespace on each server once; resolves to the servers instrumented. */
export async function mountSocketIoAdmin(
  servers: readonly SocketIoServerLike[],
  options: ResolvedSocketIoAdminOptions,
): Promise<SocketIoServerLike[]> {
  const instrument = await loadAdminUi();
  const auth =
    options.auth === false
      ? false
      : { type: 'basic', username: options.auth.username, password: await bcryptHash(options.auth.password) };
  const unique = [...new Set(servers)];
  for (const server of unique) {
    instrument(server, { auth, mode: options.mode, namespaceName: options.namespaceName, readonly: options.readonly });
  }
  return unique;
}

/**
 * For apps that wire the admin UI themselves (e.g. in `afterInit(server)` of a gateway): validates `options` like
 * `TraceModule.forRoot({ socketIoAdmin })` and mounts `@socket.io/admin-ui` on the server. Accepts a `Server` or a
 * gateway's `Namespace`. Call it once per server.
 */
export async function instrumentSocketIoAdmin(
  target: SocketIoServerLike | SocketIoNamespaceLike,
  options: TraceSocketIoAdminOptions,
): Promise<void> {
  const resolved = resolveSocketIoAdminOptions(options);
  if (!resolved) throw new Error(MESSAGES.invalidOption('socketIoAdmin', 'an object with auth', options));
  await mountSocketIoAdmin([toSocketIoServer(target)], resolved);
}
