import { readdirSync, statSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, extname, join, relative, sep } from 'node:path';
import { MESSAGES } from '../trace.messages.js';

// Non-literal specifiers: TypeScript neither resolves nor types these optional packages.
const ADMIN_UI_PACKAGE: string = '@socket.io/admin-ui';
const MDI_FONT_PACKAGE: string = '@mdi/font';
/** The page the UI's `index.html` loads first: it pre-fills the connection form (see `connectionScript`). */
export const CONNECTION_SCRIPT = 'nestjs-trace-connection.js';

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.png': 'image/png',
  '.svg': 'image/svg+xml',
  '.woff2': 'font/woff2',
  '.woff': 'font/woff',
  '.ttf': 'font/ttf',
  '.eot': 'application/vnd.ms-fontobject',
};

/** One file of the UI, ready to send. */
export interface AdminUiFile {
  body: Buffer;
  type: string;
}

/** The files `serveUi` answers with, by path below its prefix (`''` is the page itself). */
export interface AdminUiFiles {
  get(path: string): Promise<AdminUiFile | undefined>;
  /** False when `@mdi/font` is not installed: the page then shows no icons (never loads them from a CDN). */
  readonly icons: boolean;
}

/**
 * The folder of an installed package. The CommonJS build resolves it from the library's own place (`require`); the ESM
 * build has no `require` and cannot name `import.meta` (one source for both builds), so it resolves from the app's
 * working folder, then from its entry script.
 */
function packageDir(name: string): string | undefined {
  const bases = [process.cwd(), process.argv[1] ? dirname(process.argv[1]) : undefined];
  const requires = [
    ...(typeof require === 'function' ? [require] : []),
    ...bases.filter((base) => base !== undefined).map((base) => createRequire(join(base, 'noop.js'))),
  ];
  for (const resolver of requires) {
    try {
      return dirname(resolver.resolve(`${name}/package.json`));
    } catch {
      // Not found from there: try the next place.
    }
  }
  return undefined;
}

/** Every file below `dir` (by its `/`-separated path relative to `dir`) whose type the browser needs. */
function listFiles(dir: string, prefix = ''): Map<string, string> {
  const files = new Map<string, string>();
  const walk = (current: string): void => {
    for (const name of readdirSync(current)) {
      const file = join(current, name);
      if (statSync(file).isDirectory()) walk(file);
      else if (TYPES[extname(name)] !== undefined) files.set(prefix + relative(dir, file).split(sep).join('/'), file);
    }
  };
  walk(dir);
  return files;
}

/**
 * admin-ui's `index.html` loads Roboto from Google Fonts and the Material Design Icons font from a CDN: offline the
 * icons are blank, and an admin page should not tell third parties who opens it. The icon font is served from the
 * app's own `@mdi/font` (or left out), Roboto is left out (the page falls back to the system's sans-serif, or a
 * locally installed Roboto), and a small script pre-fills the connection form with this server.
 */
function rewriteIndex(html: string, icons: boolean): string {
  return html
    .replace(/<link rel="stylesheet" href="https:\/\/fonts\.googleapis\.com[^"]*">/, '')
    .replace(
      /<link rel="stylesheet" href="https:\/\/cdn\.jsdelivr\.net\/npm\/@mdi\/font[^"]*">/,
      icons ? '<link rel="stylesheet" href="mdi/css/materialdesignicons.min.css">' : '',
    )
    .replace('<title>', `<script src="${CONNECTION_SCRIPT}"></script><title>`);
}

/**
 * Pre-fills the connection form of the UI (it keeps it in `localStorage`) with the origin that served the page, the
 * admin namespace and the Socket.IO path, unless the user already saved other values there.
 */
function connectionScript(namespaceName: string, socketIoPath: () => string): string {
  const values = JSON.stringify({ namespace: namespaceName, path: socketIoPath() });
  return `(function(){try{var s=window.localStorage;if(s.getItem("server_url"))return;var v=${values};s.setItem("server_url",location.origin);s.setItem("namespace",v.namespace);s.setItem("path",v.path);}catch(e){}})();\n`;
}

/** Loads the UI that `@socket.io/admin-ui` ships (`ui/dist`), adapted to be served by the app itself. */
export function loadAdminUiFiles(namespaceName: string, socketIoPath: () => string): AdminUiFiles {
  const adminUi = packageDir(ADMIN_UI_PACKAGE);
  if (adminUi === undefined) throw new Error(MESSAGES.missingPackage('socketIoAdmin.serveUi', '@socket.io/admin-ui'));
  const uiDir = join(adminUi, 'ui', 'dist');
  const files = listFiles(uiDir);
  const index = files.get('index.html');
  if (index === undefined)
    throw new Error(MESSAGES.missingPackage('socketIoAdmin.serveUi', '@socket.io/admin-ui (a version with ui/dist)'));
  const mdi = packageDir(MDI_FONT_PACKAGE);
  if (mdi !== undefined) {
    for (const [path, file] of listFiles(join(mdi, 'css'), 'mdi/css/'))
      if (!path.endsWith('.map')) files.set(path, file);
    for (const [path, file] of listFiles(join(mdi, 'fonts'), 'mdi/fonts/')) files.set(path, file);
  }
  const cache = new Map<string, Promise<AdminUiFile>>();
  const load = async (path: string, file: string): Promise<AdminUiFile> => {
    const type = TYPES[extname(file)] ?? 'application/octet-stream';
    if (path === 'index.html')
      return { type, body: Buffer.from(rewriteIndex(await readFile(file, 'utf8'), mdi !== undefined)) };
    return { type, body: await readFile(file) };
  };
  return {
    icons: mdi !== undefined,
    get(path: string): Promise<AdminUiFile | undefined> {
      if (path === CONNECTION_SCRIPT)
        return Promise.resolve({
          type: TYPES['.js']!,
          body: Buffer.from(connectionScript(namespaceName, socketIoPath)),
        });
      const name = path === '' ? 'index.html' : path;
      const file = files.get(name);
      if (file === undefined) return Promise.resolve(undefined);
      let loaded = cache.get(name);
      if (loaded === undefined) {
        loaded = load(name, file);
        cache.set(name, loaded);
        // A failed read is not cached: the next request tries again.
        loaded.catch(() => cache.delete(name));
      }
      return loaded;
    },
  };
}
