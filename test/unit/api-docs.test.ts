/** docs/api.md lists every account route the code registers (Fastify's errors-vs-docs test, for routes). */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import Fastify from 'fastify';
import type { AccountService } from '../../src/accounts/service.js';
import { userRoutes } from '../../src/api/user.js';
import { v2AccountRoutes } from '../../src/api/v2/accounts.js';
import { v2UserRoutes } from '../../src/api/v2/users.js';

async function routes(register: (app: ReturnType<typeof Fastify>) => void): Promise<string[]> {
  const app = Fastify();
  const seen: string[] = [];
  app.addHook('onRoute', (r) => {
    if (r.method !== 'HEAD') seen.push(`${r.method} ${r.url}`);
  });
  register(app);
  await app.ready();
  await app.close();
  return seen;
}

describe('docs/api.md', () => {
  const doc = readFileSync('docs/api.md', 'utf8');
  const accounts = {} as AccountService;

  it('has a row for every v1 user/*.action route', async () => {
    const list = await routes((app) => userRoutes(app, accounts));
    assert.ok(list.length >= 15);
    for (const r of list) {
      const name = /\/nimserver\/user\/(\w+)\.action$/.exec(r)?.[1];
      assert.ok(name, r);
      assert.ok(doc.includes(`| \`${name}\` |`), `docs/api.md lacks a row for ${name}`);
    }
  });

  it('has a row for every v2 route', async () => {
    const list = await routes((app) => {
      v2AccountRoutes(app, accounts);
      v2UserRoutes(app, accounts);
    });
    for (const r of list) {
      const documented = r.replace(':account_id', '{account_id}');
      const path = documented.split(' ')[1]!;
      assert.ok(doc.includes(documented) || doc.includes(path), `docs/api.md lacks ${documented}`);
    }
  });
});
