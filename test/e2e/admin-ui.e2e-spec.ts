import 'reflect-metadata';
import { Injectable, Module } from '@nestjs/common';
import type { INestApplication, LoggerService } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { ConnectedSocket, MessageBody, SubscribeMessage, WebSocketGateway, WebSocketServer } from '@nestjs/websockets';
import bcrypt from 'bcryptjs';
import type { Namespace, Server, Socket } from 'socket.io';
import { io } from 'socket.io-client';
import type { Socket as ClientSocket } from 'socket.io-client';
import { instrumentSocketIoAdmin, TraceModule } from '../../src/index.js';
import type { TraceSocketIoAdminOptions } from '../../src/index.js';

@WebSocketGateway({ namespace: '/game' })
class NamespacedGateway {
  @WebSocketServer() server!: Namespace;

  @SubscribeMessage('join')
  async join(@MessageBody() room: string, @ConnectedSocket() client: Socket): Promise<string> {
    await client.join(room);
    return room;
  }
}

@WebSocketGateway()
class RootGateway {
  @WebSocketServer() server!: Server;

  @SubscribeMessage('join')
  async join(@MessageBody() room: string, @ConnectedSocket() client: Socket): Promise<string> {
    await client.join(room);
    return room;
  }
}

@Injectable()
class NoServerGateway {}

const quiet: LoggerService = { log: () => undefined, warn: () => undefined, error: () => undefined };

async function boot(
  gateway: unknown,
  socketIoAdmin: TraceSocketIoAdminOptions,
  logger: LoggerService = quiet,
): Promise<INestApplication> {
  @Module({
    imports: [TraceModule.forRoot({ format: 'json', hungThresholdMs: 0, logger, socketIoAdmin })],
    providers: [gateway as new () => unknown],
  })
  class AdminAppModule {}
  const app = (await Test.createTestingModule({ imports: [AdminAppModule] }).compile()).createNestApplication({
    logger: false,
  });
  await app.listen(0, '127.0.0.1');
  return app;
}

function urlOf(app: INestApplication): Promise<string> {
  return app.getUrl().then((url) => url.replace('[::1]', '127.0.0.1'));
}

/** Connects and resolves with the socket, or rejects with the connect_error. */
function connect(url: string, options: Record<string, unknown> = {}): Promise<ClientSocket> {
  return new Promise((resolve, reject) => {
    const socket = io(url, { transports: ['websocket'], reconnection: false, timeout: 5000, ...options });
    socket.once('connect', () => resolve(socket));
    socket.once('connect_error', (error) => {
      socket.close();
      reject(error);
    });
  });
}

const timers = new Set<NodeJS.Timeout>();

/** The next `event` matching `predicate` (admin-ui sends `server_stats` every 2 s). */
function next<T>(
  socket: ClientSocket,
  event: string,
  predicate: (value: T) => boolean = () => true,
  timeoutMs = 6000,
): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no matching "${event}" within ${timeoutMs} ms`)), timeoutMs);
    timers.add(timer);
    const listener = (value: T): void => {
      if (!predicate(value)) return;
      clearTimeout(timer);
      socket.off(event, listener);
      resolve(value);
    };
    socket.on(event, listener);
  });
}

interface ServerStats {
  namespaces: { name: string; socketsCount: number }[];
}
interface SerializedSocket {
  id: string;
  nsp: string;
  rooms: string[];
}

describe('Socket.IO admin UI (socketIoAdmin)', () => {
  const clients: ClientSocket[] = [];
  let app: INestApplication | undefined;

  afterEach(async () => {
    for (const timer of timers) clearTimeout(timer);
    timers.clear();
    for (const client of clients.splice(0)) client.close();
    await app?.close();
    app = undefined;
  });

  describe('on a namespaced gateway (@WebSocketServer() is a Namespace), plain password, secure defaults', () => {
    let url: string;
    beforeEach(async () => {
      app = await boot(NamespacedGateway, { auth: { username: 'admin', password: 's3cret-pass' } });
      url = await urlOf(app);
    });

    it('rejects a client without credentials or with a wrong password', async () => {
      await expect(connect(`${url}/admin`)).rejects.toThrow('invalid credentials');
      await expect(connect(`${url}/admin`, { auth: { username: 'admin', password: 'wrong' } })).rejects.toThrow(
        'invalid credentials',
      );
    });

    it('accepts the right credentials: read-only features, and stats that count the game sockets', async () => {
      const player = await connect(`${url}/game`);
      clients.push(player);
      const admin = io(`${url}/admin`, {
        transports: ['websocket'],
        reconnection: false,
        auth: { username: 'admin', password: 's3cret-pass' },
      });
      clients.push(admin);
      const config = next<{ supportedFeatures: string[] }>(admin, 'config');
      const session = next<string>(admin, 'session');
      const stats = next<ServerStats>(admin, 'server_stats', (s) =>
        s.namespaces.some((n) => n.name === '/game' && n.socketsCount === 1),
      );
      // readonly: no emit/join/leave/disconnect; production mode: aggregated events only, no per-socket feed.
      expect((await config).supportedFeatures).toEqual(['AGGREGATED_EVENTS']);
      expect(await session).toMatch(/^[0-9a-f]{16}$/);
      expect((await stats).namespaces).toEqual(expect.arrayContaining([{ name: '/game', socketsCount: 1 }]));
      // The game namespace keeps working beside the admin one.
      expect(await player.timeout(5000).emitWithAck('join', 'lobby')).toBe('lobby');
    });
  });

  it('on a root gateway (a Server) with a bcrypt hash in development mode: the UI receives every socket with its rooms', async () => {
    const hash = bcrypt.hashSync('hashed-pass', 4);
    app = await boot(RootGateway, { auth: { username: 'ops', password: hash }, mode: 'development', readonly: false });
    const url = await urlOf(app);
    const player = await connect(url);
    clients.push(player);
    await player.timeout(5000).emitWithAck('join', 'room-42');
    const admin = io(`${url}/admin`, {
      transports: ['websocket'],
      reconnection: false,
      auth: { username: 'ops', password: 'hashed-pass' },
    });
    clients.push(admin);
    const config = next<{ supportedFeatures: string[] }>(admin, 'config');
    const sockets = await next<SerializedSocket[]>(admin, 'all_sockets');
    expect((await config).supportedFeatures).toEqual(expect.arrayContaining(['EMIT', 'JOIN', 'ALL_EVENTS']));
    expect(sockets.find((s) => s.id === player.id)).toMatchObject({
      nsp: '/',
      rooms: expect.arrayContaining([player.id, 'room-42']),
    });
  });

  it('refuses auth: false at bootstrap outside development, naming the option and why', async () => {
    expect(process.env.NODE_ENV).not.toBe('development');
    await expect(boot(NamespacedGateway, { auth: false })).rejects.toThrow(
      /option "socketIoAdmin\.auth" is false.*NODE_ENV is "test", not "development"/,
    );
  });

  it('accepts auth: false with allowInsecure: true (anyone may connect)', async () => {
    app = await boot(NamespacedGateway, { auth: false, allowInsecure: true });
    const admin = await connect(`${await urlOf(app)}/admin`);
    clients.push(admin);
    expect(admin.connected).toBe(true);
  });

  it('validates the option at bootstrap', async () => {
    await expect(boot(NamespacedGateway, { auth: { username: 'admin', password: '' } })).rejects.toThrow(
      'option "socketIoAdmin.auth.password" must be a non-empty string',
    );
    await expect(
      boot(NamespacedGateway, { auth: { username: 'a', password: 'b' }, mode: 'verbose' as 'production' }),
    ).rejects.toThrow('option "socketIoAdmin.mode"');
    await expect(boot(NamespacedGateway, {} as TraceSocketIoAdminOptions)).rejects.toThrow(
      'option "socketIoAdmin.auth" must be',
    );
  });

  it('warns when no gateway has a @WebSocketServer() property', async () => {
    const warnings: string[] = [];
    app = await boot(
      NoServerGateway,
      { auth: { username: 'a', password: 'b' } },
      { ...quiet, warn: (message: unknown) => void warnings.push(String(message)) },
    );
    expect(warnings).toEqual([expect.stringContaining('no gateway has a @WebSocketServer() property')]);
  });

  it('instrumentSocketIoAdmin: the helper for apps that wire it themselves takes a Namespace too', async () => {
    @Module({ providers: [NamespacedGateway] })
    class PlainModule {}
    app = (await Test.createTestingModule({ imports: [PlainModule] }).compile()).createNestApplication({
      logger: false,
    });
    await app.listen(0, '127.0.0.1');
    await instrumentSocketIoAdmin(app.get(NamespacedGateway).server, {
      auth: { username: 'admin', password: 'pw-1234' },
      namespaceName: '/ops',
    });
    const url = await urlOf(app);
    await expect(connect(`${url}/ops`)).rejects.toThrow('invalid credentials');
    clients.push(await connect(`${url}/ops`, { auth: { username: 'admin', password: 'pw-1234' } }));
    await expect(
      instrumentSocketIoAdmin({ name: '/x' } as unknown as Namespace, { auth: { username: 'a', password: 'b' } }),
    ).rejects.toThrow('needs a Socket.IO Server or Namespace');
  });
});
