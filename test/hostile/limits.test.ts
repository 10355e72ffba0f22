/**
 * Slow-loris and oversized requests (issue 6): cut off by the request timeout and the size limits,
 * answered with a CommsEase body, while the server keeps serving other clients meanwhile.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { signHeaders } from '../../src/client/server-api.js';
import { openSocket, rawRequest, readToClose, send } from '../helpers/raw-http.js';
import { startServer, type TestServer } from '../helpers/server.js';

const CREATE = '/nimserver/user/create.action';
const FORM = 'application/x-www-form-urlencoded;charset=utf-8';

describe('slow and oversized requests', () => {
  let s: TestServer;
  let port: number;
  let n = 0;
  before(async () => {
    s = await startServer({ config: { requestTimeout: '1000' } });
    port = Number(new URL(s.url).port);
  });
  after(() => s.close());

  const normalCreateSucceeds = async () => {
    const accid = `normal${++n}`;
    assert.equal((await s.call(CREATE, { accid })).code, 200, 'a concurrent normal request is served');
  };

  /** Opens a connection, writes `head`, then one byte of `drip` every 100 ms until the server closes it. */
  const trickle = async (head: string, drip: string) => {
    const sock = await openSocket(port);
    const answer = readToClose(sock, 20_000);
    sock.write(head);
    let i = 0;
    const timer = setInterval(() => {
      if (!sock.destroyed && sock.writable) sock.write(drip[i++ % drip.length]!);
    }, 100);
    try {
      // While the slow client holds its connection, other clients are served.
      await normalCreateSucceeds();
      await normalCreateSucceeds();
      return await answer;
    } finally {
      clearInterval(timer);
    }
  };

  it('cuts off a client that trickles its headers (408, CommsEase body)', async () => {
    const r = await trickle(`POST ${CREATE} HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: `, 'abcdefgh');
    assert.equal(r.status, 408);
    assert.deepEqual(JSON.parse(r.body), { desc: 'request timeout', code: 408 });
  });

  it('cuts off a client that trickles its body', async () => {
    const headers = Object.entries({ ...signHeaders(s), 'Content-Type': FORM, 'Content-Length': '4096' })
      .map(([k, v]) => `${k}: ${v}\r\n`)
      .join('');
    const r = await trickle(`POST ${CREATE} HTTP/1.1\r\nHost: 127.0.0.1\r\n${headers}\r\naccid=slow`, 'x');
    // Fastify answers a body that stopped arriving with a 408 or the connection is dropped.
    assert.ok(r.status === 408 || r.status === 0, `status ${r.status}`);
    if (r.status === 408) assert.equal(JSON.parse(r.body).code, 408);
    assert.equal(await s.runtime.store.getAccount(s.appKey, 'slow'), undefined);
  });

  it('refuses a declared oversized body without reading it', async () => {
    const sock = await openSocket(port);
    const answer = readToClose(sock);
    sock.write(
      rawRequest({
        path: CREATE,
        headers: [...Object.entries(signHeaders(s)), ['Content-Type', FORM], ['Content-Length', '10485760']],
        contentLength: false,
      }),
    );
    sock.write(`accid=big&name=${'x'.repeat(1000)}`);
    const r = await answer;
    assert.equal(r.status, 200);
    assert.deepEqual(JSON.parse(r.body), { desc: 'request body too large', code: 414 });
    await normalCreateSucceeds();
  });

  it('refuses an oversized chunked body', async () => {
    const chunk = `accid=big2&name=${'x'.repeat(70_000)}`;
    const body = `${chunk.length.toString(16)}\r\n${chunk}\r\n0\r\n\r\n`;
    const r = await send(
      port,
      Buffer.concat([
        rawRequest({
          path: CREATE,
          headers: [
            ...Object.entries(signHeaders(s)),
            ['Content-Type', FORM],
            ['Transfer-Encoding', 'chunked'],
          ],
          contentLength: false,
        }),
        Buffer.from(body),
      ]),
    );
    assert.equal(r.status, 200);
    assert.deepEqual(JSON.parse(r.body), { desc: 'request body too large', code: 414 });
    assert.equal(await s.runtime.store.getAccount(s.appKey, 'big2'), undefined);
  });

  it('refuses oversized headers (431, CommsEase body)', async () => {
    const r = await send(
      port,
      rawRequest({
        path: CREATE,
        headers: [...Object.entries(signHeaders(s)), ['X-Big', 'y'.repeat(100_000)]],
      }),
    );
    assert.equal(r.status, 431);
    assert.deepEqual(JSON.parse(r.body), { desc: 'request headers too large', code: 414 });
    await normalCreateSucceeds();
  });

  it('answers malformed HTTP with 400 and a CommsEase body', async () => {
    const r = await send(
      port,
      Buffer.from('POST /nimserver/user/create.action HTTP/1.1\r\nHost: x\r\nBad Header\r\n\r\n'),
    );
    assert.equal(r.status, 400);
    assert.deepEqual(JSON.parse(r.body), { desc: 'bad http request', code: 414 });
    await normalCreateSucceeds();
  });
});
