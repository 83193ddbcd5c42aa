import { Inject, Injectable, Optional } from '@nestjs/common';
import type { OnApplicationBootstrap, OnModuleInit } from '@nestjs/common';
import { DiscoveryService, HttpAdapterHost } from '@nestjs/core';
import type { ResolvedTraceOptions } from '../resolve-options.js';
import { MESSAGES } from '../trace.messages.js';
import { isGateway, isGatewayServerProperty } from '../entry/nest-metadata.accessor.js';
import { TRACE_OPTIONS } from '../trace.tokens.js';
import { loadAdminUiFiles } from './admin-ui-files.js';
import { mountAdminUiPage } from './admin-ui-route.js';
import type { HttpAdapterLike } from './admin-ui-route.js';
import { mountSocketIoAdmin, toSocketIoServer } from './socket-io-admin.js';
import type { SocketIoServerLike } from './socket-io.types.js';

/**
 * Mounts `@socket.io/admin-ui` when `socketIoAdmin` is given. Runs at `onApplicationBootstrap`: gateways get their
 * server while modules are registered, before this hook and before clients are accepted. The UI's page
 * (`serveUi`) is mounted earlier, at `onModuleInit`: Fastify takes routes only before it is ready.
 */
@Injectable()
export class SocketIoAdminService implements OnModuleInit, OnApplicationBootstrap {
  /** The Socket.IO path the page connects to, known once the gateways' servers are found. */
  private socketIoPath = '/socket.io';

  constructor(
    @Inject(TRACE_OPTIONS) private readonly options: ResolvedTraceOptions,
    @Inject(DiscoveryService) private readonly discovery: DiscoveryService,
    @Optional() @Inject(HttpAdapterHost) private readonly adapterHost?: HttpAdapterHost,
  ) {}

  onModuleInit(): void {
    const admin = this.options.socketIoAdmin;
    if (!admin || admin.serveUi === false) return;
    const files = loadAdminUiFiles(admin.namespaceName, () => this.socketIoPath);
    const adapter = this.adapterHost?.httpAdapter as HttpAdapterLike | undefined;
    if (!mountAdminUiPage(adapter, admin.serveUi, files)) {
      this.options.logger.warn?.(MESSAGES.socketIoAdminUiNoHttp(admin.serveUi, adapter?.getType?.()));
      return;
    }
    if (!files.icons) this.options.logger.warn?.(MESSAGES.socketIoAdminUiNoIcons());
    this.options.logger.log(`Socket.IO admin UI page at ${admin.serveUi}/ (served by this app)`);
  }

  async onApplicationBootstrap(): Promise<void> {
    const admin = this.options.socketIoAdmin;
    if (!admin) return;
    const servers = this.gatewayServers();
    if (servers.length === 0) {
      this.options.logger.warn?.(MESSAGES.socketIoAdminNoServer());
      return;
    }
    this.socketIoPath = servers[0]?.path?.() ?? this.socketIoPath;
    await mountSocketIoAdmin(servers, admin);
    this.options.logger.log(
      `Socket.IO admin UI on namespace ${admin.namespaceName} (${admin.mode} mode, ${admin.readonly ? 'read-only' : 'read-write'}, ${admin.auth ? 'basic auth' : 'NO auth'})`,
    );
  }

  /** The servers behind every gateway's `@WebSocketServer()` property (the way Nest's own explorer finds it). */
  private gatewayServers(): SocketIoServerLike[] {
    const servers: SocketIoServerLike[] = [];
    for (const wrapper of this.discovery.getProviders()) {
      const instance: unknown = wrapper.instance;
      const metatype: unknown = wrapper.metatype;
      if (!instance || typeof instance !== 'object' || typeof metatype !== 'function' || !isGateway(metatype)) continue;
      for (const key in instance) {
        if (!isGatewayServerProperty(instance, key)) continue;
        const value: unknown = (instance as Record<string, unknown>)[key];
        if (value) servers.push(toSocketIoServer(value));
      }
    }
    return servers;
  }
}
