import 'reflect-metadata';
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
  await app.listen(config.port, config.host);
  const url = (await app.getUrl()).replace('[::1]', '127.0.0.1');
  return { app, url, close: () => app.close() };
}
