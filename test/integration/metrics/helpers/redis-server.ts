import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { Redis } from 'ioredis';
import { freePort } from '../../../support/free-port.js';

/** A private `redis-server` (no persistence) on a free port, for faults the shared server must never see. */
export class OwnRedisServer {
  private constructor(
    readonly port: number,
    private child: ChildProcess | null,
  ) {}

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  static async start(...extraArgs: string[]): Promise<OwnRedisServer> {
    return OwnRedisServer.startOn(await freePort(), ...extraArgs);
  }

  /** Starts on a given port, e.g. the port of a server stopped earlier (a restart). */
  static async startOn(port: number, ...extraArgs: string[]): Promise<OwnRedisServer> {
    const child = spawn(
      'redis-server',
      [
        '--port',
        String(port),
        '--bind',
        '127.0.0.1',
        '--save',
        '',
        '--appendonly',
        'no',
        '--daemonize',
        'no',
        ...extraArgs,
      ],
      {
        stdio: 'ignore',
      },
    );
    const server = new OwnRedisServer(port, child);
    await server.waitUntilUp();
    return server;
  }

  /** Kills the server (SIGKILL: a crash, not a clean shutdown) and waits for it to exit. */
  async stop(): Promise<void> {
    const child = this.child;
    this.child = null;
    if (!child || child.exitCode !== null) return;
    await new Promise<void>((resolve) => {
      child.once('exit', () => resolve());
      child.kill('SIGKILL');
    });
  }

  private async waitUntilUp(): Promise<void> {
    const deadline = Date.now() + 5000;
    for (;;) {
      const probe = new Redis(this.port, '127.0.0.1', {
        lazyConnect: true,
        maxRetriesPerRequest: 0,
        retryStrategy: () => null,
        enableReadyCheck: false,
      });
      probe.on('error', () => undefined);
      try {
        await probe.connect();
        await probe.ping();
        return;
      } catch (error) {
        if (Date.now() > deadline) throw error;
        await new Promise((resolve) => setTimeout(resolve, 50));
      } finally {
        if (probe.status !== 'end') probe.disconnect();
      }
    }
  }
}
