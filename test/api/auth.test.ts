/** Every auth failure of spec/auth.md §4, in its order, through a real HTTP socket. */
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { startServer, type TestServer } from '../helpers/server.js';

// Vector 1 of auth.md §8, with the server clock set to its CurTime.
const V1 = {
  appKey: '0123456789abcdef0123456789abcdef',
  appSecret: 'a1b2c3d4e5f6',
  nonce: '4tgggergigwow323t23t',
  curTime: '1443592222',
  checkSum: '3afed9b279c11dc51685291ccd3333997c45a85c',
};
const CREATE = '/nimserver/user/create.action';
const FORM = 'application/x-www-form-urlencoded;charset=utf-8';
const BAD_HEADER = { desc: 'bad http header', code: 414 };
const BAD_APPKEY = { desc: 'appkey', code: 414 };
const EXPIRED = { desc: 'CurTime is expired', code: 414 };
const BAD_CHECKSUM = { desc: 'checksum', code: 414 };

function headers(over: Record<string, string | undefined> = {}): Record<string, string> {
  const h: Record<string, string | undefined> = {
    AppKey: V1.appKey,
    Nonce: V1.nonce,
    CurTime: V1.curTime,
    CheckSum: V1.checkSum,
    'Content-Type': FORM,
    ...over,
  };
  return Object.fromEntries(Object.entries(h).filter(([, v]) => v !== undefined)) as Record<string, string>;
}

/** Sends raw HTTP/1.1 bytes, so header-name case is exactly what we write. */
function rawRequest(port: number, text: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const sock = connect(port, '127.0.0.1', () => sock.write(text));
    let out = '';
    sock.on('data', (d) => {
      out += d.toString('utf8');
      if (/\r\n\r\n[\s\S]*\}$/.test(out)) sock.end();
    });
    sock.on('end', () => resolve(out));
    sock.on('error', reject);
  });
}

describe('request signature (auth.md)', () => {
  const clock = Number(V1.curTime) * 1000;
  let s: TestServer;
  let s403: TestServer;
  let n = 0;
  before(async () => {
    s = await startServer({ now: () => clock, app: V1 });
    s403 = await startServer({ now: () => clock, app: V1, config: { checksumMismatchCode: '403' } });
  });
  after(async () => {
    await s.close();
    await s403.close();
  });

  const post = async (h: Record<string, string>, server = s, accid = `v${++n}`) => {
    const res = await server.fetch(CREATE, { method: 'POST', headers: h, body: `accid=${accid}` });
    assert.equal(res.status, 200);
    return res.json();
  };

  it('accepts the spec vector 1 request and creates the account', async () => {
    const body = (await post(headers(), s, 'zhangsan')) as { code: number; info: { accid: string } };
    assert.equal(body.code, 200);
    assert.equal(body.info.accid, 'zhangsan');
  });

  it('accepts vector 1 with the CheckSum in upper-case hex', async () => {
    assert.equal((await post(headers({ CheckSum: V1.checkSum.toUpperCase() }))).code, 200);
  });

  it('matches header names case-insensitively (lower and upper case on the wire)', async () => {
    const addr = new URL(s.url);
    for (const names of [
      ['appkey', 'nonce', 'curtime', 'checksum'],
      ['APPKEY', 'NONCE', 'CURTIME', 'CHECKSUM'],
    ]) {
      const body = `accid=case${++n}`;
      const text =
        `POST ${CREATE} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n` +
        `${names[0]}: ${V1.appKey}\r\n${names[1]}: ${V1.nonce}\r\n${names[2]}: ${V1.curTime}\r\n${names[3]}: ${V1.checkSum}\r\n` +
        `Content-Type: ${FORM}\r\nContent-Length: ${body.length}\r\n\r\n${body}`;
      const res = await rawRequest(Number(addr.port), text);
      assert.match(res, /^HTTP\/1\.1 200/);
      assert.match(res, /"code":200/, `header names ${names.join(',')}`);
    }
  });

  for (const missing of ['AppKey', 'Nonce', 'CurTime', 'CheckSum']) {
    it(`answers bad http header when ${missing} is missing or empty`, async () => {
      assert.deepEqual(await post(headers({ [missing]: undefined })), BAD_HEADER);
      assert.deepEqual(await post(headers({ [missing]: '' })), BAD_HEADER);
    });
  }

  it('answers bad http header for a Nonce over 128 characters, accepts exactly 128', async () => {
    assert.deepEqual(await post(headers({ Nonce: 'n'.repeat(129) })), BAD_HEADER);
    // A 128-character nonce passes the header check; its checksum is then verified (and wrong here).
    assert.deepEqual(await post(headers({ Nonce: 'n'.repeat(128) })), BAD_CHECKSUM);
  });

  it('answers bad http header for a CurTime that is not a decimal number', async () => {
    for (const t of ['abc', '-1', '1443592222.5', '0x56']) {
      assert.deepEqual(await post(headers({ CurTime: t })), BAD_HEADER, t);
    }
  });

  it('answers appkey for an unknown AppKey, before looking at time or checksum', async () => {
    assert.deepEqual(await post(headers({ AppKey: 'ffffffffffffffffffffffffffffffff' })), BAD_APPKEY);
    assert.deepEqual(await post(headers({ AppKey: 'nope', CurTime: '1', CheckSum: 'x' })), BAD_APPKEY);
  });

  it('answers CurTime is expired beyond ±300 s, before the checksum', async () => {
    const t = Number(V1.curTime);
    assert.deepEqual(await post(headers({ CurTime: String(t - 301) })), EXPIRED);
    assert.deepEqual(await post(headers({ CurTime: String(t + 301) })), EXPIRED);
    assert.deepEqual(
      await post(headers({ CurTime: `${t}000` })),
      EXPIRED,
      'milliseconds are outside the window',
    );
    // Exactly ±300 s is inside the window: the request gets as far as the checksum.
    assert.deepEqual(await post(headers({ CurTime: String(t - 300) })), BAD_CHECKSUM);
    assert.deepEqual(await post(headers({ CurTime: String(t + 300) })), BAD_CHECKSUM);
  });

  it('answers checksum for a mismatch, and 403 authentication failed when switched', async () => {
    const wrong = `${V1.checkSum.slice(0, 39)}d`;
    assert.deepEqual(await post(headers({ CheckSum: wrong })), BAD_CHECKSUM);
    assert.deepEqual(await post(headers({ CheckSum: 'not-a-checksum' })), BAD_CHECKSUM);
    assert.deepEqual(await post(headers({ CheckSum: wrong }), s403), {
      desc: 'authentication failed',
      code: 403,
    });
    assert.equal((await post(headers(), s403)).code, 200, 'the switch changes only the mismatch answer');
  });

  it('signs nothing but secret+nonce+curtime: the body and URL may be anything', async () => {
    const res = await s.fetch(`${CREATE}?x=1`, {
      method: 'POST',
      headers: headers(),
      body: 'accid=free&name=x',
    });
    assert.equal(((await res.json()) as { code: number }).code, 200);
  });

  it('never creates anything for a rejected request', async () => {
    await post(headers({ CheckSum: `${V1.checkSum.slice(0, 39)}d` }), s, 'rejected1');
    assert.equal(await s.runtime.store.getAccount(V1.appKey, 'rejected1'), undefined);
  });
});

describe('AppSecret rotation', () => {
  it('keeps the old secret valid during the grace period, then only the new one', async () => {
    let clock = Date.now();
    const s = await startServer({ now: () => clock });
    try {
      const old = { appKey: s.appKey, appSecret: s.appSecret };
      const rotated = await s.runtime.apps.rotateSecret(s.appKey, 60);
      const callWith = async (secret: string, accid: string) => {
        const t = String(Math.floor(clock / 1000));
        const { signHeaders } = await import('../../src/client/server-api.js');
        const res = await s.fetch(CREATE, {
          method: 'POST',
          headers: {
            ...signHeaders({ appKey: old.appKey, appSecret: secret }, undefined, t),
            'Content-Type': FORM,
          },
          body: `accid=${accid}`,
        });
        return ((await res.json()) as { code: number }).code;
      };
      assert.equal(await callWith(rotated.appSecret, 'r1'), 200);
      assert.equal(await callWith(old.appSecret, 'r2'), 200, 'old secret inside the grace period');
      clock += 61_000;
      assert.equal(await callWith(old.appSecret, 'r3'), 414, 'old secret after the grace period');
      assert.equal(await callWith(rotated.appSecret, 'r4'), 200);
    } finally {
      await s.close();
    }
  });
});
