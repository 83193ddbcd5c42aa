import 'reflect-metadata';
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { jest } from '@jest/globals';
import type { INestApplication, Type } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { TRACE_OPTIONS } from '../../src/trace.tokens.js';
import type { ResolvedTraceOptions } from '../../src/resolve-options.js';

// The TypeScript snippets of the README and docs/, run (readme.spec.ts only type-checks them): each is written to a
// file that imports the library's source instead of 'nestjs-trace', imported, and its module booted over real HTTP.
const root = process.cwd();
const dir = resolve(root, 'test/.readme-snippets-run');
const pages = ['README.md', ...readdirSync(join(root, 'docs')).map((file) => `docs/${file}`)];
const snippets = pages.flatMap((page) =>
  [...readFileSync(join(root, page), 'utf8').matchAll(/```ts\n([\s\S]*?)```/g)].map((match) => match[1] ?? ''),
);

let counter = 0;
async function load(containing: string): Promise<Record<string, Type>> {
  const code = snippets.find((snippet) => snippet.includes(containing));
  if (code === undefined) throw new Error(`no README or docs/ snippet contains ${containing}`);
  const file = join(dir, `snippet-${++counter}.ts`);
  writeFileSync(file, code.replaceAll("from 'nestjs-trace'", "from '../../src/index.js'"));
  return (await import(file)) as Record<string, Type>;
}

async function boot(module: Type | undefined): Promise<INestApplication> {
  if (module === undefined) throw new Error('the snippet exports no module');
  const app = await NestFactory.create(module, { logger: false, abortOnError: false });
  await app.listen(0, '127.0.0.1');
  return app;
}

describe('README snippets run', () => {
  const apps: INestApplication[] = [];
  beforeAll(() => mkdirSync(dir, { recursive: true }));
  afterAll(async () => {
    await Promise.all(apps.map((app) => app.close()));
    rmSync(dir, { recursive: true, force: true });
    delete process.env.TRACE_SLOW_MS;
    delete process.env.ADMIN_PASSWORD_HASH;
  });

  it('quick start: boots, and the traced service answers', async () => {
    const { AppModule, GameService } = await load('@NoTrace() helper()');
    const app = await boot(AppModule);
    apps.push(app);
    const service = app.get(GameService!) as { createRoom(): Promise<void> };
    await expect(service.createRoom()).resolves.toBeUndefined();
  });

  it('forRootAsync + the real ConfigService: TRACE_SLOW_MS=200 (a string) boots as slowThresholdMs 200', async () => {
    process.env.TRACE_SLOW_MS = '200';
    const { AppModule } = await load('forRootAsync');
    const app = await boot(AppModule);
    apps.push(app);
    expect(app.get<string, ResolvedTraceOptions>(TRACE_OPTIONS)).toMatchObject({
      slowThresholdMs: 200,
      hungThresholdMs: 1000,
      format: 'json',
    });
  });

  it('TraceContext.run outside a handler prints a 32-hex trace id', async () => {
    const { CleanupJob } = await load('TraceContext.run');
    const lines: unknown[] = [];
    const log = jest.spyOn(console, 'log').mockImplementation((line: unknown) => {
      lines.push(line);
    });
    try {
      await (new CleanupJob!() as { nightly(): Promise<void> }).nightly();
    } finally {
      log.mockRestore();
    }
    expect(lines).toEqual([expect.stringMatching(/^[0-9a-f]{32}$/)]);
  });

  it('the Prometheus controller serves the default registry', async () => {
    const { MetricsController } = await load("@Controller('metrics')");
    const { Module } = await import('@nestjs/common');
    @Module({ controllers: [MetricsController!] })
    class MetricsModule {}
    const app = await boot(MetricsModule);
    apps.push(app);
    const response = await fetch(`${(await app.getUrl()).replace('[::1]', '127.0.0.1')}/metrics`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toContain('text/plain');
  });

  it('socketIoAdmin with ADMIN_PASSWORD_HASH set boots', async () => {
    process.env.ADMIN_PASSWORD_HASH = 'change-me';
    const { AppModule } = await load('ADMIN_PASSWORD_HASH');
    const app = await boot(AppModule);
    apps.push(app);
    expect(app.get<string, ResolvedTraceOptions>(TRACE_OPTIONS).socketIoAdmin).toMatchObject({
      auth: { username: 'admin', password: 'change-me' },
    });
  });

  // The OpenTelemetry SDK snippet imports @opentelemetry/sdk-node, which is not a dev dependency of this repository
  // and would export to a collector host: it is type-checked only (test/unit/readme.spec.ts).
});
