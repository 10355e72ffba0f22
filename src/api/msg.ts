/** The v1 message family, `/nimserver/msg/*.action` (spec/accounts-v2.md §3.1). */
import type { FastifyInstance } from 'fastify';
import { badParam, DomainError, PARAM_ERROR, paramEmpty } from '../accounts/errors.js';
import { normalizeAccid } from '../accounts/rules.js';
import { TAG, TEXT_TYPE } from '../messaging/rules.js';
import type { MessagingService } from '../messaging/service.js';
import { formOf } from './user.js';

/** Client type of messages sent through the server API ("Server" in the SDK, §7.7). */
const SERVER_API_CLIENT_TYPE = 32;

/** sendMsg `option` keys → message flag tags (§8 tags 100–110; absent = true). */
const OPTION_TAGS: Record<string, string> = {
  history: TAG.isHistoryable,
  roam: TAG.isRoamingable,
  sendersync: TAG.isSyncable,
  push: TAG.isPushable,
  persistent: TAG.isOfflinable,
  route: '105',
  badge: '109',
  needPushNick: '110',
};

export function msgRoutes(app: FastifyInstance, messaging: MessagingService): void {
  // POST /nimserver/msg/sendMsg.action — from the app server to an account, same delivery as 7_1.
  app.post('/nimserver/msg/sendMsg.action', async (req) => {
    const f = formOf(req);
    const from = normalizeAccid(f.from, 'from');
    if (f.ope === undefined) throw paramEmpty('ope');
    if (f.ope !== '0') throw badParam('ope');
    const to = normalizeAccid(f.to, 'to');
    if (f.type === undefined) throw paramEmpty('type');
    if (!/^\d{1,3}$/.test(f.type)) throw badParam('type');
    if (f.body === undefined) throw paramEmpty('body');
    const body = parseJson(f.body, 'body');
    const fields: Record<string, string> = { [TAG.to]: to, [TAG.type]: f.type };
    if (Number(f.type) === TEXT_TYPE) {
      const text = (body as { msg?: unknown } | null)?.msg;
      if (typeof text !== 'string') throw badParam('body');
      fields[TAG.body] = text;
    } else fields[TAG.attach] = f.body;
    if (f.ext !== undefined) fields[TAG.custom] = f.ext;
    const pushContent = f.pushcontent ?? f.pushContent;
    if (pushContent !== undefined) fields[TAG.pushContent] = pushContent;
    if (f.payload !== undefined) fields[TAG.pushPayload] = f.payload;
    if (f.option !== undefined) {
      const option = parseJson(f.option, 'option');
      if (typeof option !== 'object' || option === null) throw badParam('option');
      for (const [key, tag] of Object.entries(OPTION_TAGS)) {
        const v = (option as Record<string, unknown>)[key];
        if (v !== undefined) fields[tag] = v === false || v === 0 ? '0' : '1';
      }
    }
    const stored = await messaging.sendP2P(
      { appKey: req.appKey, accid: from, clientType: SERVER_API_CLIENT_TYPE, deviceId: '' },
      fields,
    );
    return {
      code: 200,
      data: { msgid: Number(stored[TAG.idServer]), timetag: Number(stored[TAG.time]), antispam: false },
    };
  });
}

function parseJson(raw: string, param: string): unknown {
  try {
    return JSON.parse(raw);
  } catch {
    throw new DomainError(PARAM_ERROR, `bad ${param}: not JSON`);
  }
}
