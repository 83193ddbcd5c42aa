import 'reflect-metadata';
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { Module } from '@nestjs/common';
import type { INestApplication, LoggerService } from '@nestjs/common';
import { FastifyAdapter } from '@nestjs/platform-fastify';
import { Test } from '@nestjs/testing';
import { MessageBody, SubscribeMessage, WebSocketGateway, WebSocketServer } from '@nestjs/websockets';
import puppeteer from 'puppeteer-core';
import type { Browser, Page } from 'puppeteer-core';
import type { Namespace } from 'socket.io';
import { io } from 'socket.io-client';
import type { Socket as ClientSocket } from 'socket.io-client';
import { TraceModule } from '../../src/index.js';

// The admin UI page served by the app itself (socketIoAdmin.serveUi), opened in a real headless Chromium: Debian's
// `chromium` package (.ci/run installs it when missing). Screenshots go to test/.output/admin-ui/ (git-ignored).
const CHROMIUM = process.env.CHROMIUM_PATH ?? ['/usr/bin/chromium', '/usr/bin/chromium-browser'].find(existsSync);
const OUTPUT = join(process.cwd(), 'test/.output/admin-ui');
const PASSWORD = 'page-test-pass';

// The page's `document`, as the functions run in the browser use it (the repository's tsconfig has no DOM lib).
declare const document: {
  body: { innerText: string };
  querySelector(selector: string): { checkVisibility(): boolean } | null;
};

@WebSocketGateway({ namespace: '/game' })
class GameGateway {
  @WebSocketServer() server!: Namespace;

  @SubscribeMessage('ping')
  ping(@MessageBody() body: unknown): unknown {
    return body;
  }
}

const logged: string[] = [];
const logger: LoggerService = {
  log: (message: unknown) => void logged.push(String(message)),
  warn: (message: unknown) => void logged.push(String(message)),
  error: (message: unknown) => void logged.push(String(message)),
};

async function boot(platform: 'express' | 'fastify'): Promise<INestApplication> {
  @Module({
    imports: [
      TraceModule.forRoot({
        format: 'json',
        hungThresholdMs: 0,
        logger,
        socketIoAdmin: {
          auth: { username: 'admin', password: PASSWORD },
          mode: 'development',
          serveUi: '/admin-ui',
        },
      }),
    ],
    providers: [GameGateway],
  })
  class PageAppModule {}
  const moduleRef = await Test.createTestingModule({ imports: [PageAppModule] }).compile();
  const app =
    platform === 'fastify'
      ? moduleRef.createNestApplication(new FastifyAdapter(), { logger: false })
      : moduleRef.createNestApplication({ logger: false });
  await app.listen(0, '127.0.0.1');
  return app;
}

function connectPlayer(url: string): Promise<ClientSocket> {
  return new Promise((resolve, reject) => {
    const socket = io(`${url}/game`, { transports: ['websocket'], reconnection: false, timeout: 5000 });
    socket.once('connect', () => resolve(socket));
    socket.once('connect_error', reject);
  });
}

describe.each(['express', 'fastify'] as const)('admin UI page served by the app (serveUi) on %s', (platform) => {
  let app: INestApplication;
  let url: string;
  const players: ClientSocket[] = [];

  beforeAll(async () => {
    app = await boot(platform);
    url = (await app.getUrl()).replace('[::1]', '127.0.0.1');
  });
  afterAll(async () => {
    for (const player of players) player.close();
    await app.close();
  });

  it('serves the page and its assets from this app, with no link to another host', async () => {
    const redirect = await fetch(`${url}/admin-ui`, { redirect: 'manual' });
    expect(redirect.status).toBe(302);
    expect(redirect.headers.get('location')).toBe('/admin-ui/');
    const page = await fetch(`${url}/admin-ui/`);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toBe('text/html; charset=utf-8');
    const html = await page.text();
    expect(html).toContain('<link rel="stylesheet" href="mdi/css/materialdesignicons.min.css">');
    expect(html).not.toMatch(/https?:\/\//);
    const font = await fetch(`${url}/admin-ui/mdi/fonts/materialdesignicons-webfont.woff2`);
    expect([font.status, font.headers.get('content-type')]).toEqual([200, 'font/woff2']);
    expect((await font.arrayBuffer()).byteLength).toBeGreaterThan(100_000);
    expect((await fetch(`${url}/admin-ui/../package.json`)).status).toBe(404);
    expect((await fetch(`${url}/admin-ui/%2e%2e/package.json`)).status).toBe(404);
    expect(logged).toContain('Socket.IO admin UI page at /admin-ui/ (served by this app)');
  });

  const browserIt = CHROMIUM ? it : it.skip;
  if (!CHROMIUM)
    it('needs Chromium: not found at /usr/bin/chromium (apt-get install chromium, or CHROMIUM_PATH); skipped', () => {
      expect(CHROMIUM).toBeUndefined();
    });

  browserIt(
    'in Chromium: pre-filled server URL, a wrong password refused, then /game and its sockets; nothing loaded from outside',
    async () => {
      players.push(await connectPlayer(url), await connectPlayer(url));
      const browser: Browser = await puppeteer.launch({
        executablePath: CHROMIUM,
        headless: true,
        args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--no-first-run'],
      });
      const page: Page = await browser.newPage();
      try {
        await page.setViewport({ width: 1400, height: 900 });
        const requested: string[] = [];
        page.on('request', (request) => void requested.push(request.url()));
        await page.goto(`${url}/admin-ui`, { waitUntil: 'networkidle0', timeout: 20_000 });
        await page.waitForSelector('input[type=password]', { visible: true, timeout: 10_000 });
        const inputs = await page.$$eval('input', (elements) =>
          elements.map((e) => ({ type: e.type, value: e.value, label: e.labels?.[0]?.textContent?.trim() ?? '' })),
        );
        expect(inputs).toEqual(expect.arrayContaining([{ type: 'text', value: url, label: 'Server URL' }]));

        const login = async (password: string): Promise<void> => {
          const username = await page.$('xpath/.//label[normalize-space()="Username"]/following-sibling::input');
          const secret = await page.$('input[type=password]');
          await username!.click({ count: 3 });
          await username!.type('admin');
          await secret!.click({ count: 3 });
          await secret!.type(password);
          await secret!.press('Enter');
        };
        await login('wrong-password');
        await page.waitForFunction(() => document.body.innerText.includes('Invalid credentials'), { timeout: 10_000 });
        mkdirSync(OUTPUT, { recursive: true });
        await page.screenshot({ path: join(OUTPUT, `${platform}-refused.png`) });

        await login(PASSWORD);
        await page.waitForFunction(() => !document.querySelector('input[type=password]')?.checkVisibility(), {
          timeout: 10_000,
        });
        // The dashboard's Namespaces card lists /game; the Sockets page lists its sockets once /game is selected.
        await page.waitForFunction(() => /\/game\s+2\b/.test(document.body.innerText), { timeout: 15_000 });
        await page.goto(`${url}/admin-ui/#/sockets/`, { waitUntil: 'networkidle0', timeout: 20_000 });
        const ids = players.map((player) => player.id!);
        // Vuetify's menu opens with a transition: a click during it can be lost on a busy machine, so try again.
        for (let attempt = 1; ; attempt++) {
          const select = await page.waitForSelector(
            'xpath/.//label[normalize-space()="Select namespace"]/ancestor::div[contains(@class,"v-select__slot")]',
            { visible: true, timeout: 10_000 },
          );
          await select!.click();
          const option = await page.waitForSelector(
            'xpath/.//div[contains(@class,"v-list-item__title")][normalize-space()="/game"]',
            { visible: true, timeout: 10_000 },
          );
          await new Promise((resolve) => setTimeout(resolve, 300));
          await option!.click();
          try {
            await page.waitForFunction(
              (wanted: string[]) => wanted.every((id) => document.body.innerText.includes(id)),
              { timeout: 5_000 },
              ids,
            );
            break;
          } catch (error) {
            if (attempt === 3) throw error;
          }
        }
        await page.screenshot({ path: join(OUTPUT, `${platform}-sockets.png`) });

        const origin = new URL(url).origin;
        expect(requested.filter((u) => !u.startsWith(origin) && !u.startsWith('data:'))).toEqual([]);
        expect(requested).toEqual(
          expect.arrayContaining([`${origin}/admin-ui/mdi/fonts/materialdesignicons-webfont.woff2?v=7.4.47`]),
        );
      } catch (error) {
        mkdirSync(OUTPUT, { recursive: true });
        await page.screenshot({ path: join(OUTPUT, `${platform}-failed.png`) }).catch(() => undefined);
        throw error;
      } finally {
        await browser.close();
      }
    },
    60_000,
  );
});
