/**
 * A server restart under a connected SDK: the SDK reconnects by itself (login tag 8 = 0, its cached
 * link) and a message sent meanwhile reaches it exactly once, live or in the reconnect sync.
 */
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { destroyAllSdkClients, sdkLogin } from '../helpers/sdk.js';
import { startServer, type TestServer } from '../helpers/server.js';

describe('SDK reconnect across a server restart', () => {
  const servers: TestServer[] = [];
  after(async () => {
    await destroyAllSdkClients();
    for (const s of servers) await s.close().catch(() => {});
  });

  it('reconnects and receives what was sent while it was away, once', async () => {
    const first = await startServer({ keepData: true });
    servers.push(first);
    for (const accid of ['rita', 'sam'])
      await first.call('/nimserver/user/create.action', { accid, token: `tok-${accid}` });
    const rita = await sdkLogin(first, 'rita', 'tok-rita', { extra: { onwillreconnect: () => {} } });
    const port = Number(new URL(first.url).port);

    await first.close();
    const second = await startServer({ dataDir: first.dataDir, port });
    servers.push(second);
    // fetch may first pick a keep-alive socket of the stopped server: one retry is enough.
    await second.fetch('/health/liveness.action').catch(() => {});
    const r = await second.call('/nimserver/msg/sendMsg.action', {
      from: 'sam',
      ope: '0',
      to: 'rita',
      type: '0',
      body: JSON.stringify({ msg: 'sent during the restart' }),
    });
    assert.equal(r.code, 200, JSON.stringify(r));
    const seen = () =>
      [...rita.messages, ...rita.offline].filter((m) => m.text === 'sent during the restart');
    await rita.waitFor('the message after the reconnect', () => seen().length > 0, 15_000);
    assert.deepEqual(rita.disconnects, [], 'a restart is not a final disconnect');

    // Still connected for real: a live message arrives, and nothing came twice.
    await second.call('/nimserver/msg/sendMsg.action', {
      from: 'sam',
      ope: '0',
      to: 'rita',
      type: '0',
      body: JSON.stringify({ msg: 'live again' }),
    });
    await rita.waitFor('a live message', () => rita.messages.some((m) => m.text === 'live again'));
    assert.equal(seen().length, 1);
    const online = await second.call('/nimserver/user/userOnlineStatus.action', { accids: '["rita"]' });
    assert.equal(Object.keys((online.data as { status: object }).status).length, 1);
    await rita.destroy();
  });
});
