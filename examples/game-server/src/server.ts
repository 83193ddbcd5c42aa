import 'reflect-metadata';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { NestFactory } from '@nestjs/core';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { AppModule } from './app.module.js';
import type { GameServerConfig } from './config.js';

export interface RunningGameServer {
  app: NestExpressApplication;
  /** http://127.0.0.1:<port> */
  url: string;
  close(): Promise<void>;
}

/** Where `@socket.io/admin-ui` keeps its built web UI, or undefined when the package is not installed. */
function adminUiAssets(): string | undefined {
  try {
    return join(dirname(createRequire(import.meta.url).resolve('@socket.io/admin-ui/package.json')), 'ui', 'dist');
  } catch {
    return undefined;
  }
}

/** Boots the game server and listens (port 0: any free port). */
export async function startGameServer(
  config: GameServerConfig,
  options: { nestLogs?: boolean } = {},
): Promise<RunningGameServer> {
  const app = await NestFactory.create<NestExpressApplication>(await AppModule.register(config), {
    logger: options.nestLogs === false ? ['error'] : undefined,
    // Nest's default (true) calls process.exit(1) when a module fails to start, which would end a test run that
    // embeds the server; false rethrows the error to the caller (npm run example still exits with it).
    abortOnError: false,
  });
  app.enableShutdownHooks();
  const assets = config.admin ? adminUiAssets() : undefined;
  // The admin UI's own page, served from this origin, so no CORS setup is needed.
  if (assets) app.useStaticAssets(assets, { prefix: '/admin-ui/' });
  await app.listen(config.port, config.host);
  const url = (await app.getUrl()).replace('[::1]', '127.0.0.1');
  return { app, url, close: () => app.close() };
}
