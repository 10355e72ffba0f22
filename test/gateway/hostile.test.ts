/**
 * Hostile clients: garbage, truncated and oversized frames, commands before login, floods. Each
 * ends its own connection with an error close code; the server and other sessions go on.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { GATEWAY_LIMITS } from '../../src/gateway/limits.js';
import { loginProps, type RawClient, rawConnect } from '../helpers/raw-client.js';
import { destroyAllSdkClients, type SdkClient, sdkLogin } from '../helpers/sdk.js';
import { startServer, type TestServer } from '../helpers/server.js';

describe('hostile clients', () => {
  let s: TestServer;
  let bystander: SdkClient;
  let peer: SdkClient;
  before(async () => {
    s = await startServer();
    for (const accid of ['calm', 'peer', 'mallory']) {
      await s.call('/nimserver/user/create.action', { accid, token: `tok-${accid}` });
    }
    bystander = await sdkLogin(s, 'calm', 'tok-calm');
    peer = await sdkLogin(s, 'peer', 'tok-peer');
  });
  after(async () => {
    // The bystander was never disturbed and still exchanges messages.
    await bystander.sendText('peer', 'still here');
    await peer.waitFor('the bystander message', () => peer.messages.some((m) => m.text === 'still here'));
    assert.deepEqual(bystander.disconnects, []);
    await destroyAllSdkClients();
    await s.close();
  });

  const closesWith = async (c: RawClient, code: number) => {
    const closed = await c.closed;
    assert.equal(closed.code, code, `close reason: ${closed.reason}`);
    return closed;
  };

  it('binary: garbage bytes → 1002', async () => {
    const c = await rawConnect(s, '/websocket');
    c.ws.send(Buffer.from('ffffffffffffffff', 'hex'));
    await closesWith(c, 1002);
  });

  it('binary: a truncated varint inside a Property → 1002', async () => {
    const c = await rawConnect(s, '/websocket');
    c.ws.send(Buffer.from('00020301000001ff', 'hex'));
    await closesWith(c, 1002);
  });

  it('binary: a text frame → 1002', async () => {
    const c = await rawConnect(s, '/websocket');
    c.ws.send('hello');
    await closesWith(c, 1002);
  });

  it('an oversized frame → 1009', async () => {
    const c = await rawConnect(s, '/websocket');
    c.ws.send(Buffer.alloc(GATEWAY_LIMITS.maxFrameBytes + 1));
    await closesWith(c, 1009);
  });

  it('binary: a command before login → 1008', async () => {
    const c = await rawConnect(s, '/websocket');
    c.request(7, 1, 1, [{ '0': '0', '1': 'calm', '8': '0', '9': 'spam', '11': 'x1' }]);
    const closed = await closesWith(c, 1008);
    assert.match(closed.reason, /before login/);
  });

  it('JSON: invalid JSON → 1007, a command before login → 1008', async () => {
    const a = await rawConnect(s, 'socket.io');
    a.ws.send('3:::{not json');
    await closesWith(a, 1007);
    const b = await rawConnect(s, 'socket.io');
    b.ws.send('3:::{"SID":7,"CID":1,"SER":1,"Q":[{"t":"Property","v":{"1":"calm","9":"x"}}]}');
    await closesWith(b, 1008);
    assert.equal(b.texts[0], '1::');
  });

  it('JSON: an unknown socket.io session id is refused at the upgrade', async () => {
    const res = await new Promise<number>((resolve) => {
      import('ws').then(({ default: WebSocket }) => {
        const ws = new WebSocket(`${s.url.replace('http', 'ws')}/socket.io/1/websocket/nosuchsid`);
        ws.on('unexpected-response', (_req, r) => resolve(r.statusCode ?? 0));
        ws.on('error', () => {});
      });
    });
    assert.equal(res, 403);
  });

  it('a heartbeat flood after login → 1008 too many packets', async () => {
    const c = await rawConnect(s, '/websocket');
    c.request(2, 3, 1, [loginProps(s.appKey, 'mallory', 'tok-mallory')]);
    const reply = await c.waitPacket((p) => p.sid === 2 && p.cid === 3, 'the login reply');
    assert.equal(reply.code, 200);
    for (let i = 0; i < GATEWAY_LIMITS.packetBurst * 3; i++) c.request(1, 2, 0, []);
    const closed = await closesWith(c, 1008);
    assert.match(closed.reason, /too many packets/);
  });

  it('--gateway-packet-rate raises the per-link rate: bursts 50 ms apart are answered', async () => {
    const fast = await startServer({ config: { gatewayPacketRate: '100000' } });
    try {
      await fast.call('/nimserver/user/create.action', { accid: 'flood', token: 'tok-flood' });
      const c = await rawConnect(fast, '/websocket');
      c.request(2, 3, 1, [loginProps(fast.appKey, 'flood', 'tok-flood')]);
      assert.equal((await c.waitPacket((p) => p.sid === 2 && p.cid === 3, 'the login reply')).code, 200);
      // Three full bursts 50 ms apart: at the default 50/s the second one would close the link.
      const n = GATEWAY_LIMITS.packetBurst * 3;
      for (let i = 0; i < n; i++) {
        if (i > 0 && i % GATEWAY_LIMITS.packetBurst === 0) await new Promise((r) => setTimeout(r, 50));
        c.request(1, 2, i + 2, []);
      }
      const last = await c.waitPacket(
        (p) => p.sid === 1 && p.cid === 2 && p.ser === n + 1,
        'the last heartbeat',
      );
      assert.equal(last.code, 200);
      c.close();
    } finally {
      await fast.close();
    }
  });

  it('the server API still answers', async () => {
    const r = await s.call('/nimserver/user/create.action', { accid: 'after-hostile' });
    assert.equal(r.code, 200);
  });
});

describe('binary framing end to end (raw client ↔ official SDK over JSON)', () => {
  let s: TestServer;
  before(async () => {
    s = await startServer();
    await s.call('/nimserver/user/create.action', { accid: 'bina', token: 'tok-bina' });
    await s.call('/nimserver/user/create.action', { accid: 'jason', token: 'tok-jason' });
  });
  after(async () => {
    await destroyAllSdkClients();
    await s.close();
  });

  it('a message pushed to a link that dies before acking is delivered again at the next login', async () => {
    const c = await rawConnect(s, '/websocket');
    c.request(2, 3, 1, [loginProps(s.appKey, 'bina', 'tok-bina')]);
    await c.waitPacket((p) => p.sid === 2 && p.cid === 3, 'the login reply');
    const r = await s.call('/nimserver/msg/sendMsg.action', {
      from: 'jason',
      ope: '0',
      to: 'bina',
      type: '0',
      body: JSON.stringify({ msg: 'do not lose me' }),
    });
    await c.waitPacket((p) => p.sid === 7 && p.cid === 2, 'the 7_2 push');
    c.close(); // no 4_5, no logout: a crash
    await c.closed;
    const back = await sdkLogin(s, 'bina', 'tok-bina');
    assert.deepEqual(
      back.offline.map((m) => [m.text, m.idServer]),
      [['do not lose me', String((r.data as { msgid: number }).msgid)]],
    );
    await back.destroy();
    // The SDK's logout acknowledged it: the next login gets nothing.
    const again = await sdkLogin(s, 'bina', 'tok-bina');
    assert.equal(again.offline.length, 0);
    await again.destroy();
  });

  it('back-to-back sends are stored in the order sent; a later non-send command waits for them', async () => {
    const c = await rawConnect(s, '/websocket');
    try {
      c.request(2, 3, 1, [loginProps(s.appKey, 'bina', 'tok-bina')]);
      await c.waitPacket((p) => p.sid === 2 && p.cid === 3, 'the login reply');
      const n = 30;
      for (let i = 0; i < n; i++)
        c.request(7, 1, 10 + i, [{ '0': '0', '1': 'jason', '8': '0', '9': `m${i}`, '11': `order-${i}` }]);
      c.request(6, 23, 10 + n, []);
      await c.waitPacket((p) => p.sid === 6 && p.cid === 23, 'the 6_23 reply');
      const at = c.packets.findIndex((p) => p.sid === 6 && p.cid === 23);
      const sends = c.packets.slice(0, at).filter((p) => p.sid === 7 && p.cid === 1);
      assert.equal(sends.length, n, 'every 7_1 reply came before the 6_23 reply');
      const ids = sends
        .sort((a, b) => a.ser - b.ser)
        .map((p) => Number((p.body[0] as Record<string, string>)['12']));
      assert.deepEqual(
        ids,
        [...ids].sort((a, b) => a - b),
        'idServer grows with the order sent',
      );
    } finally {
      c.close();
    }
  });

  it('a reply written in the same turn as the close still precedes it (logout, failed login)', async () => {
    const c = await rawConnect(s, '/websocket');
    c.request(2, 3, 1, [loginProps(s.appKey, 'bina', 'tok-bina')]);
    await c.waitPacket((p) => p.sid === 2 && p.cid === 3, 'the login reply');
    c.request(2, 6, 2, []);
    assert.deepEqual(await c.closed, { code: 1000, reason: 'logout' });
    assert.ok(c.packets.some((p) => p.sid === 2 && p.cid === 6 && p.ser === 2 && p.code === 200));
    const bad = await rawConnect(s, '/websocket');
    bad.request(2, 3, 1, [loginProps(s.appKey, 'bina', 'wrong')]);
    assert.equal((await bad.closed).code, 1008);
    assert.deepEqual(
      bad.packets.map((p) => [p.sid, p.cid, p.code]),
      [[2, 3, 302]],
    );
  });

  it('a resend of the same idClient returns the stored message and is not delivered twice', async () => {
    const jason = await sdkLogin(s, 'jason', 'tok-jason');
    const c = await rawConnect(s, '/websocket');
    try {
      c.request(2, 3, 1, [loginProps(s.appKey, 'bina', 'tok-bina')]);
      await c.waitPacket((p) => p.sid === 2 && p.cid === 3, 'the login reply');
      const msg = { '0': '0', '1': 'jason', '8': '0', '9': 'once', '11': 'same-client-id' };
      c.request(7, 1, 2, [msg]);
      c.request(7, 1, 3, [{ ...msg, '13': '1' }]);
      const first = await c.waitPacket((p) => p.cid === 1 && p.ser === 2, 'the first reply');
      const second = await c.waitPacket((p) => p.cid === 1 && p.ser === 3, 'the resend reply');
      const id = (first.body[0] as Record<string, string>)['12'];
      assert.equal((second.body[0] as Record<string, string>)['12'], id);
      await jason.waitFor('the message', () => jason.messages.length === 1);
      await jason.sendText('jason', 'barrier'); // a later round trip: any duplicate would be in by now
      assert.equal(jason.messages.filter((m) => m.text === 'once').length, 1);
    } finally {
      c.close();
      await jason.destroy();
    }
  });

  it('logs in, syncs, sends and receives over the binary framing', async () => {
    const jason = await sdkLogin(s, 'jason', 'tok-jason');
    const c = await rawConnect(s, '/websocket');
    try {
      c.request(2, 3, 1, [loginProps(s.appKey, 'bina', 'tok-bina')]);
      const login = await c.waitPacket((p) => p.sid === 2 && p.cid === 3, 'the login reply');
      assert.equal(login.code, 200);
      assert.equal(login.body.length, 3);
      c.request(5, 1, 2, [{ '1': '0', '2': '0' }]);
      const sync = await c.waitPacket((p) => p.sid === 5 && p.cid === 1, 'the sync reply');
      assert.ok(Number(sync.body[0]) > 0);

      c.request(7, 1, 3, [{ '0': '0', '1': 'jason', '8': '0', '9': 'binary hello', '11': 'bin-1' }]);
      const sent = await c.waitPacket((p) => p.sid === 7 && p.cid === 1, 'the send reply');
      assert.equal(sent.code, 200);
      const msg = sent.body[0] as Record<string, string>;
      assert.match(msg['12']!, /^\d+$/);
      await jason.waitFor('the binary client message', () => jason.messages.length === 1);
      assert.equal(jason.messages[0].text, 'binary hello');
      assert.equal(jason.messages[0].idServer, msg['12']);

      await jason.sendText('bina', 'json hello');
      const push = await c.waitPacket((p) => p.sid === 7 && p.cid === 2, 'the 7_2 push');
      assert.equal((push.body[0] as Record<string, string>)['9'], 'json hello');
      assert.equal((push.body[0] as Record<string, string>)['2'], 'jason');
    } finally {
      c.close();
      await jason.destroy();
    }
  });
});

describe('LBS document', () => {
  it('hands out the request Host by default and --public-link when set, never msg.stat.enable', async () => {
    const plain = await startServer();
    const fixed = await startServer({ config: { publicLink: 'im.example.com:443' } });
    try {
      const host = new URL(plain.url).host;
      const res = await plain.fetch('/lbs/webconf.jsp?k=x&id=y');
      assert.equal(res.headers.get('access-control-allow-origin'), '*');
      assert.deepEqual(await res.json(), {
        common: { link: [host], 'link.default': [host], 'mix.link': [host] },
      });
      const body = (await (await fixed.fetch('/lbs/webconf.jsp')).json()) as {
        common: Record<string, unknown>;
      };
      assert.deepEqual(body.common.link, ['im.example.com:443']);
      assert.equal('msg.stat.enable' in body.common, false);
    } finally {
      await plain.close();
      await fixed.close();
    }
  });
});
