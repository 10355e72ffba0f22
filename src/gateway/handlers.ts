/**
 * Every command handler, declared once with its layout (Appendix A of spec/client-protocol.md).
 * Handlers see normalised parameters (Property values are strings) whichever framing carried them.
 */
import { ACCID_MAX, ACCID_PATTERN, normalizeAccid } from '../accounts/rules.js';
import type { AccountRecord } from '../store/port.js';
import { PUSHES, type Reply } from './commands.js';
import { type Gateway, KICK_REASON, SERVER_CLIENT_TYPE } from './hub.js';
import { GATEWAY_LIMITS } from './limits.js';
import type { Property } from './packet.js';
import type { LoginInfo, Session } from './session.js';

/** Login tags (§7.1). */
const LOGIN = {
  clientType: '3',
  os: '4',
  appLogin: '8',
  deviceId: '13',
  appKey: '18',
  account: '19',
  instance: '26',
  customTag: '38',
  customClientType: '39',
  authType: '115',
  token: '1000',
} as const;

/** Login result codes the SDK understands (§7.1). */
export const LOGIN_CODES = {
  badCredentials: 302,
  unknownApp: 403,
  blocked: 422,
  alreadyLoggedIn: 417,
} as const;

const EMPTY_OK: Reply = { code: 200, body: [] };
const sent = (stored: Property): Reply => ({ code: 200, body: [stored] });

export function defineCommands(gw: Gateway): void {
  const t = gw.table;
  const { deps } = gw;
  for (const p of Object.values(PUSHES)) t.definePush(p);

  t.define({ sid: 1, cid: 2, name: 'heartbeat', params: [], result: [], beforeLogin: true }, () => EMPTY_OK);

  t.define(
    {
      sid: 2,
      cid: 3,
      name: 'login',
      params: ['Property'],
      result: ['Property', 'PropertyArray', 'Property'],
      beforeLogin: true,
    },
    async (session, [props]) => login(gw, session, props as Property),
  );

  // 2_6 logout. The client got (and handed to the app) everything pushed on this link before it
  // logged out, but its 4_5 acks are buffered ~500 ms and are lost when it closes right away:
  // a clean logout acknowledges what this link delivered. A crash acknowledges nothing.
  t.define({ sid: 2, cid: 6, name: 'logout', params: [], result: [] }, async (session) => {
    const l = session.login!;
    await deps.messaging.acknowledge(l.appKey, l.accid, [...session.delivered]);
    return { ...EMPTY_OK, after: () => session.close(1000, 'logout') };
  });

  // 2_8 kick: the client ends other sessions of its own account by deviceId (reason 3, §7.7).
  t.define({ sid: 2, cid: 8, name: 'kick', params: ['StrArray'], result: ['StrArray'] }, (session, [ids]) => {
    const wanted = new Set(ids as string[]);
    const me = session.login!;
    const kicked: string[] = [];
    for (const s of gw.sessionsOf(me.appKey, me.accid)) {
      if (s === session || !wanted.has(s.login!.deviceId)) continue;
      kicked.push(s.login!.deviceId);
      gw.kick(s, me.clientType, 3);
    }
    return { code: 200, body: [kicked] };
  });

  t.define({ sid: 3, cid: 4, name: 'getBlacklist', params: [], result: ['StrArray'] }, () => ({
    code: 200,
    body: [[]],
  }));
  t.define({ sid: 3, cid: 6, name: 'getMutelist', params: [], result: ['StrArray'] }, () => ({
    code: 200,
    body: [[]],
  }));
  t.define(
    { sid: 3, cid: 8, name: 'getRelations', params: ['Long'], result: ['PropertyArray', 'Long'] },
    () => ({ code: 200, body: [[], String(deps.now())] }),
  );

  // 3_7 gates the v9 SDK's onmsg (§7.5): answer fast, with every known profile, always with the array.
  t.define(
    { sid: 3, cid: 7, name: 'getUsers', params: ['StrArray'], result: ['PropertyArray'] },
    async (session, [accounts]) => {
      // Only names an account can have reach the store (junk such as NUL would only cost a query).
      const valid = (accounts as string[]).filter((a) => a.length <= ACCID_MAX && ACCID_PATTERN.test(a));
      const accids = [...new Set(valid.map((a) => a.toLowerCase()))].slice(0, 150);
      const found = await deps.accountReader.getAccounts(session.login!.appKey, accids);
      return { code: 200, body: [found.map(userProperty)] };
    },
  );

  t.define(
    {
      sid: 4,
      cid: 5,
      name: 'batchMarkRead',
      params: ['Byte', 'Byte', 'LongArray'],
      result: [],
      noReply: true,
    },
    async (session, [sid, cid, ids]) => {
      if (sid === 7 && cid === 2) {
        const l = session.login!;
        await deps.messaging.acknowledge(l.appKey, l.accid, ids as number[]);
        // Acknowledged ids have no offline entry left for the sync to skip: forget them, so a busy
        // link does not hold up to GATEWAY_LIMITS.deliveredMemory ids (and the GC does not trace them).
        for (const id of ids as number[]) session.delivered.delete(String(id));
      }
      return undefined;
    },
  );

  t.define(
    { sid: 5, cid: 1, name: 'sync', params: ['Property'], result: ['Long'] },
    async (session, [timetags]) => sync(gw, session, timetags as Property),
  );

  t.define({ sid: 6, cid: 23, name: 'getServerTime', params: [], result: ['Long'] }, () => ({
    code: 200,
    body: [String(deps.now())],
  }));
  t.define({ sid: 6, cid: 26, name: 'getNosCdnHost', params: [], result: ['Property'] }, () => ({
    code: 200,
    body: [{}],
  }));
  t.define(
    { sid: 6, cid: 27, name: 'getGrayscaleConfig', params: ['Property'], result: ['Property'] },
    () => ({ code: 200, body: [{}] }),
  );
  t.define(
    { sid: 6, cid: 28, name: 'getMixStorePolicy', params: ['LongArray'], result: ['Property'] },
    () => ({ code: 200, body: [{}] }),
  );

  t.define(
    { sid: 7, cid: 1, name: 'sendMsg', params: ['Property'], result: ['Property'], pipelined: true },
    // Not an async function: one promise hop fewer per send.
    (session, params, ordered) => {
      const l = session.login!;
      return deps.messaging
        .sendP2P(
          {
            appKey: l.appKey,
            accid: l.accid,
            clientType: l.clientType,
            deviceId: l.deviceId,
            connectionId: session.connectionId,
          },
          params[0] as Property,
          ordered,
        )
        .then(sent);
    },
  );
}

async function login(gw: Gateway, session: Session, p: Property): Promise<Reply & { after?: () => void }> {
  const { deps } = gw;
  if (session.active) return { code: LOGIN_CODES.alreadyLoggedIn };
  const fail = (code: number): Reply & { after: () => void } => ({
    code,
    // No second guess on the same link: close shortly after the answer is written.
    after: () => setTimeout(() => session.close(1008, `login failed (${code})`), 50).unref(),
  });
  const appKey = p[LOGIN.appKey] ?? '';
  const token = p[LOGIN.token] ?? '';
  let accid: string;
  try {
    accid = normalizeAccid(p[LOGIN.account]);
  } catch {
    return fail(LOGIN_CODES.badCredentials);
  }
  if (!appKey || !(await deps.apps.secretsFor(appKey))) return fail(LOGIN_CODES.unknownApp);
  // Dynamic (1) and third-party (2) tokens are not supported: only the account's static token opens.
  if ((p[LOGIN.authType] ?? '0') !== '0') return fail(LOGIN_CODES.badCredentials);
  const account = token ? await deps.accounts.loginAccount(appKey, accid, token) : undefined;
  if (!account) return fail(LOGIN_CODES.badCredentials);
  if (account.blocked) return fail(LOGIN_CODES.blocked);
  if (session.state !== 'connected') return { code: 500 };

  const info: LoginInfo = {
    appKey,
    accid,
    clientType: Number(p[LOGIN.clientType]) || 16,
    deviceId: p[LOGIN.deviceId] ?? '',
    instanceId: p[LOGIN.instance] ?? session.connectionId,
    reconnect: p[LOGIN.appLogin] === '0',
    os: p[LOGIN.os] ?? '',
    customTag: p[LOGIN.customTag] ?? '',
    customClientType: Number(p[LOGIN.customClientType]) || 0,
    loginTime: deps.now(),
  };
  session.login = info;
  const others = gw
    .sessionsOf(appKey, accid)
    .filter((s) => !(info.reconnect && s.login!.instanceId === info.instanceId))
    .map((s) => s.port());
  const loginRes: Property = {
    '17': '',
    '102': session.connectionId,
    '103': session.link.remoteAddress,
    '104': String(session.link.remotePort),
    '109': String(info.loginTime),
  };
  return {
    code: 200,
    body: [loginRes, others, {}],
    after: () => {
      gw.register(session);
      // A block or token change that landed between the checks above and register() published its
      // event before this session could hear it: look again now that it is registered.
      void recheck(gw, session, token);
    },
  };
}

async function recheck(gw: Gateway, session: Session, token: string): Promise<void> {
  const { deps } = gw;
  const l = session.login!;
  try {
    const account = await deps.accounts.loginAccount(l.appKey, l.accid, token);
    if (!account || account.blocked) gw.kick(session, SERVER_CLIENT_TYPE, KICK_REASON.server);
  } catch (err) {
    deps.logger.warn({ err }, 'login recheck failed');
  }
}

/** 5_1: pushes first (3_109, 4_4), the reply last — v9 drops offline messages pushed after it (§7.4). */
async function sync(gw: Gateway, session: Session, timetags: Property): Promise<Reply> {
  const { deps } = gw;
  const l = session.login!;
  // Both reads at once (one round trip each on PostgreSQL, side by side); pushed in this order.
  const [account, stored] = await Promise.all([
    deps.accountReader.getAccount(l.appKey, l.accid),
    deps.messaging.offlineMessages(l.appKey, l.accid),
  ]);
  if (account && Number(timetags['1'] ?? 0) < account.updatedAt) {
    session.push(PUSHES.syncMyInfo, [userProperty(account), String(account.updatedAt)]);
  }
  const offline = stored.filter((m) => !session.delivered.has(m['12'] ?? ''));
  for (let i = 0; i < offline.length; i += GATEWAY_LIMITS.offlineBatch) {
    const batch = offline.slice(i, i + GATEWAY_LIMITS.offlineBatch);
    for (const m of batch) session.remember(m['12'] ?? '');
    session.push(PUSHES.syncOfflineMsgs, [batch]);
  }
  return { code: 200, body: [String(deps.now())] };
}

/** The user Property (§9.1). */
export function userProperty(a: AccountRecord): Property {
  const p: Property = { '1': a.accid };
  const put = (tag: string, v: string | undefined) => {
    if (v !== undefined) p[tag] = v;
  };
  put('3', a.name);
  put('4', a.icon);
  put('5', a.sign);
  p['6'] = String(a.gender);
  put('7', a.email);
  put('8', a.birth);
  put('9', a.mobile);
  put('10', a.ex);
  p['12'] = String(a.createdAt);
  p['13'] = String(a.updatedAt);
  return p;
}
