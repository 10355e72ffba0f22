/**
 * The official web SDK (@yxim/nim-web-sdk, Node build = JSON transport) against nimbase:
 * real-time P2P delivery, offline sync exactly once, multi-device copies, server-API sends, mute.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { destroyAllSdkClients, sdkLogin } from '../helpers/sdk.js';
import { startServer, type TestServer } from '../helpers/server.js';

describe('SDK messaging (JSON transport)', () => {
  let s: TestServer;
  before(async () => {
    s = await startServer();
    for (const [accid, token, name] of [
      ['alice', 'tokA', 'Alice'],
      ['bob', 'tokB', 'Bob'],
      ['carol', 'tokC', ''],
    ]) {
      const r = await s.call('/nimserver/user/create.action', {
        accid: accid!,
        token: token!,
        ...(name ? { name } : {}),
      });
      assert.equal(r.code, 200, JSON.stringify(r));
    }
  });
  after(async () => {
    await destroyAllSdkClients();
    await s.close();
  });

  const offlineCount = async (accid: string) =>
    (await s.runtime.store.listOffline(s.appKey, accid, 100)).length;

  it('delivers A→B text in real time with server id, time and sender fields', async () => {
    const a = await sdkLogin(s, 'alice', 'tokA');
    const b = await sdkLogin(s, 'bob', 'tokB');
    try {
      const sent = await a.sendText('bob', 'hello bob');
      assert.equal(sent.status, 'success');
      assert.match(sent.idServer, /^\d+$/);
      assert.ok(sent.time > 0);
      await b.waitFor('the message from alice', () => b.messages.length === 1);
      const got = b.messages[0];
      assert.equal(got.text, 'hello bob');
      assert.equal(got.from, 'alice');
      assert.equal(got.to, 'bob');
      assert.equal(got.scene, 'p2p');
      assert.equal(got.type, 'text');
      assert.equal(got.flow, 'in');
      assert.equal(got.idServer, sent.idServer);
      assert.equal(got.idClient, sent.idClient);
      assert.equal(got.time, sent.time);
      assert.equal(got.fromNick, 'Alice');
      assert.equal(got.fromClientType, 'Web');
      // The SDK acks the push (4_5): nothing stays queued for bob.
      await b.waitFor('the ack of the real-time message', () => false, 1500).catch(() => {});
      assert.equal(await offlineCount('bob'), 0);
    } finally {
      await a.destroy();
      await b.destroy();
    }
  });

  it('stores messages for an offline recipient and syncs them exactly once', async () => {
    const a = await sdkLogin(s, 'alice', 'tokA');
    try {
      const m1 = await a.sendText('carol', 'while you were away 1');
      const m2 = await a.sendText('carol', 'while you were away 2');
      assert.equal(await offlineCount('carol'), 2);

      const c = await sdkLogin(s, 'carol', 'tokC');
      assert.deepEqual(
        c.offline.map((m) => [m.idServer, m.text, m.from]),
        [
          [m1.idServer, 'while you were away 1', 'alice'],
          [m2.idServer, 'while you were away 2', 'alice'],
        ],
      );
      assert.equal(c.messages.length, 0, 'offline messages must not also arrive as onmsg');
      // v9 buffers its 4_5 acks ~500 ms.
      for (let i = 0; i < 50 && (await offlineCount('carol')) > 0; i++)
        await new Promise((r) => setTimeout(r, 100));
      assert.equal(await offlineCount('carol'), 0, 'the 4_5 ack retires the offline entries');
      await c.destroy();

      const again = await sdkLogin(s, 'carol', 'tokC');
      assert.equal(again.offline.length, 0, 'nothing is delivered twice after the ack');
      assert.equal(again.messages.length, 0);
      await again.destroy();
    } finally {
      await a.destroy();
    }
  });

  it('copies a sent message to the sender’s other sessions (7_101) and announces them (2_7)', async () => {
    const a1 = await sdkLogin(s, 'alice', 'tokA');
    const a2 = await sdkLogin(s, 'alice', 'tokA', { anotherDevice: true });
    const b = await sdkLogin(s, 'bob', 'tokB');
    try {
      await a1.waitFor('a login-port change for the second device', () =>
        a1.loginPorts.some((p) => p.online),
      );
      const sent = await a1.sendText('bob', 'from alice#1');
      await a2.waitFor('the copy of the sent message', () => a2.messages.length === 1);
      assert.equal(a2.messages[0].flow, 'out');
      assert.equal(a2.messages[0].idServer, sent.idServer);
      await b.waitFor('the message', () => b.messages.length === 1);
      assert.equal(a1.messages.length, 0, 'the sending session gets no copy');
    } finally {
      await a1.destroy();
      await a2.destroy();
      await b.destroy();
    }
  });

  it('delivers msg/sendMsg.action to an online client through the same path', async () => {
    const b = await sdkLogin(s, 'bob', 'tokB');
    try {
      const r = await s.call('/nimserver/msg/sendMsg.action', {
        from: 'alice',
        ope: '0',
        to: 'bob',
        type: '0',
        body: JSON.stringify({ msg: 'from the app server' }),
      });
      assert.equal(r.code, 200, JSON.stringify(r));
      const data = r.data as { msgid: number; timetag: number; antispam: boolean };
      assert.ok(Number.isSafeInteger(data.msgid) && data.msgid > 0);
      assert.equal(data.antispam, false);
      await b.waitFor('the server-API message', () => b.messages.length === 1);
      assert.equal(b.messages[0].text, 'from the app server');
      assert.equal(b.messages[0].idServer, String(data.msgid));
      assert.equal(b.messages[0].time, data.timetag);
      assert.equal(b.messages[0].from, 'alice');
    } finally {
      await b.destroy();
    }
  });

  it('carries custom messages (type 100) with their content, from the SDK and the server API', async () => {
    const a = await sdkLogin(s, 'alice', 'tokA');
    const b = await sdkLogin(s, 'bob', 'tokB');
    try {
      const content = JSON.stringify({ kind: 'card', id: 7 });
      await new Promise((resolve, reject) =>
        a.nim.sendCustomMsg({
          scene: 'p2p',
          to: 'bob',
          content,
          done: (err: unknown, msg: unknown) => (err ? reject(err) : resolve(msg)),
        }),
      );
      await b.waitFor('the custom message', () => b.messages.length === 1);
      assert.equal(b.messages[0].type, 'custom');
      assert.equal(b.messages[0].content, content);

      const r = await s.call('/nimserver/msg/sendMsg.action', {
        from: 'alice',
        ope: '0',
        to: 'bob',
        type: '100',
        body: JSON.stringify({ kind: 'server' }),
        ext: JSON.stringify({ x: 1 }),
      });
      assert.equal(r.code, 200, JSON.stringify(r));
      await b.waitFor('the server-API custom message', () => b.messages.length === 2);
      assert.equal(b.messages[1].type, 'custom');
      assert.deepEqual(JSON.parse(b.messages[1].content), { kind: 'server' });
      assert.deepEqual(JSON.parse(b.messages[1].custom), { x: 1 });
    } finally {
      await a.destroy();
      await b.destroy();
    }
  });

  it('answers sendMsg.action errors in the v1 form', async () => {
    const bad = [
      [{ from: 'alice', ope: '0', to: 'bob', type: '0', body: 'not json' }, 414],
      [{ from: 'alice', ope: '0', to: 'nobody', type: '0', body: '{"msg":"x"}' }, 404],
      [{ from: 'alice', ope: '0', to: 'bob', type: '0' }, 414],
      [{ from: 'alice', ope: '2', to: 'bob', type: '0', body: '{"msg":"x"}' }, 414],
      [
        { from: 'alice', ope: '0', to: 'bob', type: '0', body: JSON.stringify({ msg: 'x'.repeat(5001) }) },
        414,
      ],
    ] as const;
    for (const [params, code] of bad) {
      const r = await s.call('/nimserver/msg/sendMsg.action', params);
      assert.equal(r.code, code, JSON.stringify([params, r]));
      assert.equal(typeof r.desc, 'string');
    }
  });

  it('answers 423 to a send from a globally muted account (mute.action)', async () => {
    const r = await s.call('/nimserver/user/mute.action', { accid: 'carol', mute: 'true' });
    assert.equal(r.code, 200, JSON.stringify(r));
    const c = await sdkLogin(s, 'carol', 'tokC');
    try {
      await assert.rejects(c.sendText('alice', 'am I muted?'), (err: { sdk?: { code?: unknown } }) => {
        assert.equal(err.sdk?.code, 423);
        return true;
      });
    } finally {
      await c.destroy();
      await s.call('/nimserver/user/mute.action', { accid: 'carol', mute: 'false' });
    }
  });
});
