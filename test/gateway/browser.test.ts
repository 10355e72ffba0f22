/**
 * The SDK's browser bundle (NIM_Web_NIM.js) in headless Chromium: binary WebSocket framing by
 * default, and the JSON transport with `binaryWebsocket:false`. The page comes from another origin,
 * so the LBS and handshake CORS answers are exercised too. Needs Debian's chromium (.ci installs it).
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { createRequire } from 'node:module';
import { after, before, describe, it } from 'node:test';
import { type Browser, chromium, type Page } from 'playwright-core';
import { destroyAllSdkClients, sdkLogin, sdkOptions } from '../helpers/sdk.js';
import { startServer, type TestServer } from '../helpers/server.js';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const missing = !existsSync(CHROMIUM);
if (missing && process.env.CI === 'true') throw new Error(`CI=true but ${CHROMIUM} is missing`);
const skip = missing ? `${CHROMIUM} not installed (apt-get install chromium)` : false;

const require = createRequire(import.meta.url);
const bundlePath = require.resolve('@yxim/nim-web-sdk/dist/SDK/NIM_Web_NIM.js');

/** Launch flags for a closed network (env/machines/node-svc.md). */
const FLAGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

describe('official SDK browser bundle in headless Chromium', { skip }, () => {
  let s: TestServer;
  let site: Server;
  let siteUrl: string;
  let browser: Browser;
  before(async () => {
    s = await startServer();
    for (const accid of ['webby', 'nodey', 'jsonweb']) {
      await s.call('/nimserver/user/create.action', { accid, token: `tok-${accid}` });
    }
    const bundle = readFileSync(bundlePath);
    site = createServer((req, res) => {
      if (req.url === '/nim.js') {
        res.writeHead(200, { 'Content-Type': 'application/javascript' });
        res.end(bundle);
      } else {
        res.writeHead(200, { 'Content-Type': 'text/html' });
        res.end(
          '<!doctype html><html><head><script src="/nim.js"></script></head><body>nimbase</body></html>',
        );
      }
    });
    await new Promise<void>((r) => site.listen(0, '127.0.0.1', r));
    const addr = site.address();
    siteUrl = `http://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}/`;
    browser = await chromium.launch({ executablePath: CHROMIUM, args: FLAGS });
  });
  after(async () => {
    await browser?.close();
    await destroyAllSdkClients();
    await new Promise((r) => site?.close(r));
    await s?.close();
  });

  /** Logs `account` in inside the page; resolves once synced. Received messages land in window.received. */
  async function browserLogin(page: Page, account: string, extra: Record<string, unknown> = {}) {
    const options = { ...sdkOptions(s, account, `tok-${account}`), ...extra };
    // tsx compiles the callbacks below with esbuild's keepNames, which calls a `__name` helper.
    await page.addInitScript('window.__name = (f) => f');
    await page.goto(siteUrl);
    await page.waitForFunction(() => 'NIM' in window, undefined, { timeout: 10_000 });
    return page.evaluate(
      (opts) =>
        new Promise<string>((resolve, reject) => {
          const w = window as unknown as Record<string, unknown>;
          w.received = [];
          const timer = setTimeout(() => reject(new Error('browser login timed out')), 10_000);
          w.nim = (w.NIM as { getInstance(o: unknown): unknown }).getInstance({
            ...opts,
            onsyncdone: () => {
              clearTimeout(timer);
              resolve('synced');
            },
            ondisconnect: (e: unknown) => reject(new Error(`disconnected: ${JSON.stringify(e)}`)),
            onmsg: (m: unknown) => (w.received as unknown[]).push(m),
          });
        }),
      options,
    );
  }

  const browserSend = (page: Page, to: string, text: string) =>
    page.evaluate(
      ([to, text]) =>
        new Promise<{ idServer: string; status: string }>((resolve, reject) => {
          const nim = (window as unknown as { nim: { sendText(o: unknown): void } }).nim;
          nim.sendText({
            scene: 'p2p',
            to,
            text,
            done: (err: unknown, msg: { idServer: string; status: string }) =>
              err ? reject(new Error(JSON.stringify(err))) : resolve(msg),
          });
        }),
      [to, text] as const,
    );

  const browserReceived = (page: Page, n: number) =>
    page.waitForFunction(
      (count) => ((window as unknown as { received: unknown[] }).received ?? []).length >= count,
      n,
      { timeout: 10_000 },
    );

  it('logs in over the binary WebSocket and exchanges messages with a Node SDK client', async () => {
    const page = await browser.newPage();
    const sockets: string[] = [];
    page.on('websocket', (ws) => sockets.push(ws.url()));
    try {
      assert.equal(await browserLogin(page, 'webby'), 'synced');
      assert.ok(
        sockets.some((u) => u.endsWith('/websocket')),
        `binary link expected, saw ${sockets.join(', ')}`,
      );
      const node = await sdkLogin(s, 'nodey', 'tok-nodey');

      const sent = await browserSend(page, 'nodey', 'from the browser');
      assert.equal(sent.status, 'success');
      await node.waitFor('the browser message', () => node.messages.length === 1);
      assert.equal(node.messages[0].text, 'from the browser');
      assert.equal(node.messages[0].idServer, sent.idServer);

      await node.sendText('webby', 'from node');
      await browserReceived(page, 1);
      const got = await page.evaluate(
        () => (window as unknown as { received: { text: string; from: string }[] }).received[0],
      );
      assert.equal(got?.text, 'from node');
      assert.equal(got?.from, 'nodey');
      await node.destroy();
    } finally {
      await page.close();
    }
  });

  it('logs in over the JSON transport from a browser (binaryWebsocket:false, credentialed handshake)', async () => {
    const page = await browser.newPage();
    const sockets: string[] = [];
    page.on('websocket', (ws) => sockets.push(ws.url()));
    try {
      assert.equal(await browserLogin(page, 'jsonweb', { binaryWebsocket: false }), 'synced');
      assert.ok(
        sockets.some((u) => u.includes('/socket.io/1/websocket/')),
        `JSON link expected, saw ${sockets.join(', ')}`,
      );
      const sent = await browserSend(page, 'webby', 'json from the browser');
      assert.equal(sent.status, 'success');
    } finally {
      await page.close();
    }
  });
});
