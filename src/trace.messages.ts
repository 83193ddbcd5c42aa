/** Every message the library writes about itself, in one place. */
export const MESSAGES = {
  invalidOption: (name: string, allowed: string, got: unknown): string =>
    `nestjs-trace: option "${name}" must be ${allowed} (got ${describe(got)})`,
  tokenNotFound: (name: string, token: unknown): string =>
    `nestjs-trace: option "${name}" names a provider that is not in the app (token ${describe(token)})`,
  missingPackage: (feature: string, pkg: string): string =>
    `nestjs-trace: "${feature}" needs the package "${pkg}"; install it (npm i ${pkg}) or turn the option off`,
  internalFailure: (where: string, error: unknown): string =>
    `nestjs-trace: ${where} failed and was skipped: ${errorText(error)}`,
  tokenWrongKind: (name: string, token: unknown, expected: string): string =>
    `nestjs-trace: option "${name}" names a provider that is not ${expected} (token ${describe(token)})`,
  heapNearLimit: (usedMB: number, limitMB: number, percent: number, threshold: number): string =>
    `nestjs-trace: heap use is ${usedMB} MB of the ${limitMB} MB V8 heap limit (${percent}%, warning at ${threshold}%)`,
  heapGrowing: (samples: number, fromMB: number, toMB: number, intervalMs: number): string =>
    `nestjs-trace: possible memory leak: heap after GC rose ${samples} times in a row, ${fromMB} MB → ${toMB} MB (one sample every ${intervalMs} ms)`,
  socketIoAdminInsecure: (nodeEnv: string | undefined): string =>
    `nestjs-trace: option "socketIoAdmin.auth" is false, which lets anyone who can reach the server watch (and, unless readonly, act on) every socket; ` +
    `this is refused because NODE_ENV is ${nodeEnv === undefined ? 'unset' : describe(nodeEnv)}, not "development": give { username, password } or set socketIoAdmin.allowInsecure: true`,
  socketIoAdminNoServer: (): string =>
    'nestjs-trace: option "socketIoAdmin" is set but no gateway has a @WebSocketServer() property, so the admin UI was not mounted; ' +
    'add one to a gateway or call instrumentSocketIoAdmin(server, options) yourself',
  socketIoAdminUiNoIcons: (): string =>
    'nestjs-trace: the admin UI page is served without icons: install "@mdi/font" (npm i @mdi/font) to serve the icon font from this app; it is never loaded from a CDN',
  socketIoAdminUiNoHttp: (prefix: string, type: string | undefined): string =>
    `nestjs-trace: option "socketIoAdmin.serveUi" ("${prefix}") needs the Express or Fastify HTTP adapter (got ${type === undefined ? 'none' : describe(type)}); the page was not mounted`,
  socketIoAdminNotAServer: (got: unknown): string =>
    `nestjs-trace: socketIoAdmin needs a Socket.IO Server or Namespace (got ${describe(got)})`,
  socketIoAdminPasswordHash: (error: unknown): string =>
    `nestjs-trace: option "socketIoAdmin.auth.password" is not a bcrypt hash and hashing it with bcryptjs (a dependency of @socket.io/admin-ui) failed: ${errorText(error)}; give a bcrypt hash instead`,
} as const;

export function describe(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'function') return value.name || 'anonymous function';
  if (typeof value === 'symbol') return value.toString();
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return Object.prototype.toString.call(value);
  }
}

export function errorText(error: unknown): string {
  if (error instanceof Error) return `${error.name}: ${error.message}`;
  return describe(error);
}
