import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startServer, type TestServer } from '../helpers/server.js';

describe('POST /nimserver/user/create.action', () => {
  let s: TestServer;
  before(async () => {
    s = await startServer();
  });
  after(() => s.close());

  it('registers an account and lower-cases the accid', async () => {
    const body = await s.call('/nimserver/user/create.action', { accid: 'Abc', token: 't', name: 'N' });
    assert.deepEqual(body, { code: 200, info: { token: 't', accid: 'abc', name: 'N' } });
  });

  it('answers already register for a duplicate in any case', async () => {
    const body = await s.call('/nimserver/user/create.action', { accid: 'ABC' });
    assert.deepEqual(body, { desc: 'already register', code: 414 });
  });
});
