import type { AdminUiFiles } from './admin-ui-files.js';

/** The parts of Nest's Express / Fastify adapters the admin UI page is mounted with. */
export interface HttpAdapterLike {
  getType?(): string;
  getInstance?(): unknown;
}

interface NodeResponseLike {
  writeHead(status: number, headers: Record<string, string | number>): unknown;
  end(body?: Buffer): unknown;
}

interface ExpressLike {
  use(
    handler: (request: { method?: string; url?: string }, response: NodeResponseLike, next: () => void) => void,
  ): unknown;
}

interface FastifyReplyLike {
  code(status: number): FastifyReplyLike;
  headers(values: Record<string, string | number>): FastifyReplyLike;
  send(body?: Buffer): unknown;
}

interface FastifyLike {
  route(options: {
    method: string[];
    url: string;
    handler: (request: { url: string }, reply: FastifyReplyLike) => Promise<unknown>;
  }): unknown;
}

interface Answer {
  status: number;
  headers: Record<string, string | number>;
  body?: Buffer;
}

/** What to answer for `url` (`/admin-ui/js/app.js?x`), or undefined when it is not below `prefix`. */
async function answer(files: AdminUiFiles, prefix: string, url: string): Promise<Answer | undefined> {
  const path = url.split('?')[0] ?? '';
  // The page's assets are relative (`js/app.js`): it must be opened as `/admin-ui/`, not `/admin-ui`.
  if (path === prefix) return { status: 302, headers: { location: `${prefix}/`, 'content-length': 0 } };
  if (!path.startsWith(`${prefix}/`)) return undefined;
  const file = await files.get(path.slice(prefix.length + 1));
  if (file === undefined)
    return {
      status: 404,
      headers: { 'content-type': 'text/plain', 'content-length': 9 },
      body: Buffer.from('Not Found'),
    };
  const hashed = /\.[0-9a-f]{8}\.(js|css|svg)$|\/fonts\//.test(path);
  return {
    status: 200,
    headers: {
      'content-type': file.type,
      'content-length': file.body.length,
      'cache-control': hashed ? 'public, max-age=86400' : 'no-cache',
      'x-content-type-options': 'nosniff',
    },
    body: file.body,
  };
}

/**
 * Serves the admin UI's files below `prefix` on the app's own HTTP server. Express: a middleware (Express 4 and 5
 * alike, no route syntax); Fastify: two routes (`prefix` and `prefix/*`), added before the server is ready.
 * Returns false for another adapter (or none: a microservice or WebSocket-only app).
 */
export function mountAdminUiPage(adapter: HttpAdapterLike | undefined, prefix: string, files: AdminUiFiles): boolean {
  const type = adapter?.getType?.();
  const instance = adapter?.getInstance?.();
  if (type === 'express' && instance) {
    (instance as ExpressLike).use((request, response, next) => {
      // Only requests no route matched get here; anything not below the prefix leaves at once, without a promise.
      const url = request.url ?? '';
      if ((request.method !== 'GET' && request.method !== 'HEAD') || !url.startsWith(prefix)) return next();
      answer(files, prefix, url).then(
        (result) => {
          if (result === undefined) return next();
          response.writeHead(result.status, result.headers);
          response.end(request.method === 'HEAD' ? undefined : result.body);
        },
        () => next(),
      );
    });
    return true;
  }
  if (type === 'fastify' && instance) {
    const handler = async (request: { url: string }, reply: FastifyReplyLike): Promise<unknown> => {
      const result = (await answer(files, prefix, request.url)) ?? { status: 404, headers: {} };
      return reply.code(result.status).headers(result.headers).send(result.body);
    };
    const fastify = instance as FastifyLike;
    fastify.route({ method: ['GET', 'HEAD'], url: prefix, handler });
    fastify.route({ method: ['GET', 'HEAD'], url: `${prefix}/*`, handler });
    return true;
  }
  return false;
}
