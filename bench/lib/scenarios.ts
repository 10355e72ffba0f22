/**
 * The benchmark scenarios: one server-API call each, with what must exist before the run and the
 * CommsEase code every answer should carry. A scenario whose endpoint the server does not serve yet
 * (answered `code 404`) is reported as skipped.
 */

export interface Scenario {
  name: string;
  path: string;
  /** Form body; `{n}` becomes a value unique to each request, `{m}` a number in 0..999 (round robin). */
  bodyTemplate: string;
  /** The code every answer should carry. */
  expectCode: number;
  /** accids to register before the run (answers are not measured). */
  seedAccids?: string[];
  /**
   * Not nimbase: bench/reference-create.mjs with these environment variables (the careful
   * reference, measured on the same machine). Run only when a --scenario filter names it.
   */
  reference?: Record<string, string>;
}

const seeds = (n: number) => Array.from({ length: n }, (_, i) => `seed${i}`);
const accidsParam = (n: number) => encodeURIComponent(JSON.stringify(seeds(n)));

export const SCENARIOS: Scenario[] = [
  {
    name: 'create',
    path: '/nimserver/user/create.action',
    bodyTemplate: 'accid=c{n}&name=Bench%20User',
    expectCode: 200,
  },
  {
    name: 'create-duplicate',
    path: '/nimserver/user/create.action',
    bodyTemplate: 'accid=seed0&name=Bench%20User',
    expectCode: 414,
    seedAccids: seeds(1),
  },
  {
    name: 'getUinfos-1',
    path: '/nimserver/user/getUinfos.action',
    bodyTemplate: `accids=${accidsParam(1)}`,
    expectCode: 200,
    seedAccids: seeds(1),
  },
  {
    name: 'getUinfos-20',
    path: '/nimserver/user/getUinfos.action',
    bodyTemplate: `accids=${accidsParam(20)}`,
    expectCode: 200,
    seedAccids: seeds(20),
  },
  {
    name: 'getUinfos-200',
    path: '/nimserver/user/getUinfos.action',
    bodyTemplate: `accids=${accidsParam(200)}`,
    expectCode: 200,
    seedAccids: seeds(200),
  },
  {
    name: 'updateUinfo',
    path: '/nimserver/user/updateUinfo.action',
    bodyTemplate: 'accid=seed0&name=n{n}&sign=bench',
    expectCode: 200,
    seedAccids: seeds(1),
  },
  {
    // The same call spread over 1,000 accounts: concurrent updates rarely share an account.
    name: 'updateUinfo-1000',
    path: '/nimserver/user/updateUinfo.action',
    bodyTemplate: 'accid=seed{m}&name=n{n}&sign=bench',
    expectCode: 200,
    seedAccids: seeds(1000),
  },
  {
    // The reference as described there: plain tokens at rest.
    name: 'reference-create',
    path: '/nimserver/user/create.action',
    bodyTemplate: 'accid=c{n}&name=Bench%20User',
    expectCode: 200,
    reference: {},
  },
  {
    // The same with every token sealed (AES-256-GCM), the promise nimbase keeps.
    name: 'reference-create-sealed',
    path: '/nimserver/user/create.action',
    bodyTemplate: 'accid=c{n}&name=Bench%20User',
    expectCode: 200,
    reference: { REF_SEAL: '1' },
  },
];
