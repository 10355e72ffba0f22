/**
 * Two nimbase nodes on one database and one bus (the in-process adapter standing in for a broker):
 * a message, a kick and a login-port change cross from one node's sessions to the other's.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { MemoryBus } from '../../src/bus/memory.js';
import { destroyAllSdkClients, sdkLogin } from '../helpers/sdk.js';
import { startServer, type TestServer } from '../helpers/server.js';

describe('two gateway nodes sharing a store and a bus', () => {
  const bus = new MemoryBus();
  let n1: TestServer;
  let n2: TestServer;
  before(async () => {
    n1 = await startServer({ bus });
    n2 = await startServer({ bus, dataDir: n1.dataDir });
    for (const accid of ['ann', 'ben'])
      await n1.call('/nimserver/user/create.action', { accid, token: `tok-${accid}` });
  });
  after(async () => {
    await destroyAllSdkClients();
    await n2.close();
    await n1.close();
    await bus.close();
  });

  it('delivers across nodes, announces other devices across nodes, and kicks across nodes', async () => {
    assert.equal(n2.appKey, n1.appKey);
    const ann = await sdkLogin(n1, 'ann', 'tok-ann');
    const ben = await sdkLogin(n2, 'ben', 'tok-ben');
    try {
      const sent = await ann.sendText('ben', 'hello from node 1');
      await ben.waitFor('the cross-node message', () => ben.messages.length === 1);
      assert.equal(ben.messages[0].idServer, sent.idServer);

      const r = await n2.call('/nimserver/msg/sendMsg.action', {
        from: 'ben',
        ope: '0',
        to: 'ann',
        type: '0',
        body: JSON.stringify({ msg: 'server API on node 2' }),
      });
      assert.equal(r.code, 200);
      await ann.waitFor('the server-API message from node 2', () => ann.messages.length === 1);

      const ann2 = await sdkLogin(n2, 'ann', 'tok-ann', { anotherDevice: true });
      await ann.waitFor('the other device on node 2', () => ann.loginPorts.some((p) => p.online));

      const block = await n1.call('/nimserver/user/block.action', { accid: 'ann', needkick: 'true' });
      assert.equal(block.code, 200);
      await ann.waitFor('the kick on node 1', () => ann.disconnects.length > 0);
      await ann2.waitFor('the kick on node 2', () => ann2.disconnects.length > 0);
      assert.equal(ann2.disconnects[0].code, 'kicked');
      assert.deepEqual(ben.disconnects, []);
    } finally {
      await ann.destroy();
      await ben.destroy();
    }
  });
});
