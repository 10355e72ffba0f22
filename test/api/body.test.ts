/** v1 body handling (auth.md §5, issue 2): charsets, chunked bodies, encodings, limits, routing. */
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { after, before, describe, it } from 'node:test';
import { signHeaders } from '../../src/client/server-api.js';
import { openSocket, parseResponse } from '../helpers/raw-http.js';
import { startServer, type TestServer } from '../helpers/server.js';

const CREATE = '/nimserver/user/create.action';
type Body = { code: number; desc?: string; info?: { accid: string; token: string; name: string } };

describe('v1 request bodies', () => {
  let s: TestServer;
  let n = 0;
  before(async () => {
    s = await startServer();
  });
  after(() => s.close());

  const send = async (
    body: string | undefined,
    contentType: string | undefined,
    path = CREATE,
    method = 'POST',
  ) => {
    const h: Record<string, string> = signHeaders(s);
    if (contentType !== undefined) h['Content-Type'] = contentType;
    const res = await s.fetch(path, { method, headers: h, body: method === 'GET' ? undefined : body });
    // (fetch labels a string body text/plain unless told otherwise; undefined sends no body at all.)
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /^application\/json/);
    return (await res.json()) as Body;
  };

  for (const ct of [
    'application/x-www-form-urlencoded',
    'application/x-www-form-urlencoded;charset=utf-8',
    'application/x-www-form-urlencoded;charset=UTF-8',
    'application/x-www-form-urlencoded; charset=utf-8',
    'Application/X-WWW-Form-URLEncoded;Charset=UTF-8',
  ]) {
    it(`accepts Content-Type "${ct}"`, async () => {
      const body = await send(`accid=ct${++n}`, ct);
      assert.equal(body.code, 200, JSON.stringify(body));
    });
  }

  it('accepts a chunked body (no Content-Length)', async () => {
    const accid = `chunked${++n}`;
    const url = new URL(s.url);
    const text = await new Promise<string>((resolve, reject) => {
      const req = request(
        {
          host: url.hostname,
          port: url.port,
          path: CREATE,
          method: 'POST',
          headers: { ...signHeaders(s), 'Content-Type': 'application/x-www-form-urlencoded;charset=utf-8' },
        },
        (res) => {
          let out = '';
          res.on('data', (d) => {
            out += d;
          });
          res.on('end', () => resolve(out));
        },
      );
      req.on('error', reject);
      // Two writes without Content-Length: Node sends Transfer-Encoding: chunked.
      req.write(`accid=${accid}&na`);
      req.end('me=Chunk%20Ed');
    });
    assert.deepEqual(JSON.parse(text).info.accid, accid);
    assert.equal(JSON.parse(text).info.name, 'Chunk Ed');
  });

  it('decodes UTF-8 percent-encoding and + as space', async () => {
    const body = await send(
      `accid=utf${++n}&name=%E5%BC%A0%E4%B8%89+Zhang`,
      'application/x-www-form-urlencoded',
    );
    assert.equal(body.info?.name, '张三 Zhang');
  });

  it('treats a parameter sent empty as not sent (token= gets a generated token)', async () => {
    const body = await send(`accid=empty${++n}&token=&name=`, 'application/x-www-form-urlencoded');
    assert.equal(body.code, 200);
    assert.match(body.info?.token ?? '', /^[0-9a-f]{32}$/);
    assert.equal(body.info?.name, '');
  });

  it('uses the first of repeated parameters', async () => {
    const body = await send(`accid=rep${++n}&name=first&name=second`, 'application/x-www-form-urlencoded');
    assert.equal(body.info?.name, 'first');
  });

  it('answers 414 for a malformed percent-escape or one that is not UTF-8', async () => {
    for (const raw of [
      `accid=bad${++n}&name=%E5%BC`,
      `accid=bad${++n}&name=%FF`,
      `accid=bad${++n}&name=%zz`,
    ]) {
      const body = await send(raw, 'application/x-www-form-urlencoded');
      assert.equal(body.code, 414, raw);
      assert.match(body.desc ?? '', /bad form body/);
    }
  });

  it('answers 414 for a body over the 64 KiB limit, and keeps serving', async () => {
    const body = await send(
      `accid=big${++n}&ex=${'x'.repeat(70 * 1024)}`,
      'application/x-www-form-urlencoded',
    );
    assert.deepEqual(body, { desc: 'request body too large', code: 414 });
    assert.equal((await send(`accid=after${++n}`, 'application/x-www-form-urlencoded')).code, 200);
  });

  for (const ct of ['application/json', 'text/plain', 'multipart/form-data; boundary=x']) {
    it(`answers 414 for Content-Type ${ct}`, async () => {
      const body = await send(ct === 'application/json' ? `{"accid":"j${++n}"}` : `accid=j${++n}`, ct);
      assert.deepEqual(body, { desc: 'unsupported Content-Type', code: 414 });
    });
  }

  it('answers accid is empty for a POST with no body', async () => {
    assert.deepEqual(await send(undefined, undefined), { desc: 'accid is empty', code: 414 });
  });

  it('answers an unknown .action path with a CommsEase JSON body, not HTML', async () => {
    const body = await send('a=1', 'application/x-www-form-urlencoded', '/nimserver/user/nosuch.action');
    assert.equal(body.code, 404);
    assert.equal(typeof body.desc, 'string');
  });

  it('answers GET on a POST-only action with a CommsEase JSON body', async () => {
    const body = await send(undefined, undefined, CREATE, 'GET');
    assert.equal(body.code, 404);
  });

  it('answers GET /nimserver/health/liveness.action with HTTP 200 without auth', async () => {
    const res = await s.fetch('/nimserver/health/liveness.action');
    assert.equal(res.status, 200);
    assert.deepEqual(await res.json(), { code: 200 });
  });

  it('answers pipelined requests on one connection, in order (answers leave at the end of a turn)', async () => {
    assert.equal((await s.call(CREATE, { accid: 'pipe-0' })).code, 200);
    const port = Number(new URL(s.url).port);
    const sock = await openSocket(port);
    const accids = ['pipe-a', 'pipe-b', 'pipe-a', 'pipe-c'];
    // Keep-alive for all but the last (rawRequest always asks to close).
    const requests = accids.map((accid, i) => {
      // Pipelined requests run concurrently (only the answers are ordered): read an account made before.
      const body = i === 1 ? `accids=${encodeURIComponent('["pipe-0"]')}` : `accid=${accid}`;
      const headers = [
        `POST ${i === 1 ? '/nimserver/user/getUinfos.action' : CREATE} HTTP/1.1`,
        'Host: 127.0.0.1',
        ...Object.entries(signHeaders(s)).map(([k, v]) => `${k}: ${v}`),
        'Content-Type: application/x-www-form-urlencoded',
        `Content-Length: ${body.length}`,
        ...(i === accids.length - 1 ? ['Connection: close'] : []),
      ];
      return Buffer.from(`${headers.join('\r\n')}\r\n\r\n${body}`, 'latin1');
    });
    const chunks: Buffer[] = [];
    const closed = new Promise<void>((resolve) => {
      sock.on('data', (c: Buffer) => chunks.push(c));
      sock.on('close', () => resolve());
    });
    sock.end(Buffer.concat(requests)); // all four in one write
    await closed;
    const raw = Buffer.concat(chunks).toString('utf8');
    const bodies = raw
      .split(/(?=HTTP\/1\.1 )/)
      .map((answer) => parseResponse(answer))
      .map((r) => JSON.parse(r.body));
    assert.equal(bodies.length, 4, raw);
    assert.equal(bodies[0].code, 200);
    assert.equal(bodies[0].info.accid, 'pipe-a');
    assert.deepEqual(
      bodies[1].uinfos.map((u: { accid: string }) => u.accid),
      ['pipe-0'],
    );
    assert.equal(bodies[2].code, 414);
    assert.equal(bodies[3].info.accid, 'pipe-c');
  });
});
