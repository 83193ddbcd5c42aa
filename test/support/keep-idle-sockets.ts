import type { INestApplication } from '@nestjs/common';
import type { Server } from 'node:http';

/**
 * Keeps the app's idle keep-alive sockets for a minute instead of Node's 5 s. A stall of the shared Jest process
 * longer than 5 s (a full GC of a large heap on a loaded machine took 6 s in CI) fires the server's idle timers just as
 * `fetch` reuses those sockets, and requests then fail with ECONNRESET: a race of the test machine, not of the app.
 */
export function keepIdleSockets(app: INestApplication): void {
  (app.getHttpServer() as Server).keepAliveTimeout = 60_000;
}
