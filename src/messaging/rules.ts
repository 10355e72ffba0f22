/**
 * Message rules in one table (spec/client-protocol.md §8): the tags a client may not set, the known
 * types and the size limits. Validation, tests and docs read these constants.
 */
import { badParam, DomainError, PARAM_ERROR, paramEmpty, paramTooLong } from '../accounts/errors.js';
import { withinLimit } from '../accounts/rules.js';

/** Message tags (§8) that the server reads or sets. */
export const TAG = {
  scene: '0',
  to: '1',
  from: '2',
  fromClientType: '4',
  fromDeviceId: '5',
  fromNick: '6',
  time: '7',
  type: '8',
  body: '9',
  attach: '10',
  idClient: '11',
  idServer: '12',
  resend: '13',
  userUpdateTime: '14',
  custom: '15',
  pushPayload: '16',
  pushContent: '17',
  isHistoryable: '100',
  isRoamingable: '101',
  isSyncable: '102',
  isPushable: '107',
  isOfflinable: '108',
} as const;

/** Tags only the server sets: a client's values are dropped (§7.5 "ignore any client-supplied tag 2"). */
export const SERVER_TAGS = [
  TAG.from,
  TAG.fromClientType,
  TAG.fromDeviceId,
  TAG.time,
  TAG.idServer,
  TAG.userUpdateTime,
] as const;

export const SCENE_P2P = 0;

/** 0 text, 1 image, 2 audio, 3 video, 4 geo, 5 notification, 6 file, 7 avchat, 10 tip, 11 robot, 12 call record, 100 custom. */
export const MESSAGE_TYPES = [0, 1, 2, 3, 4, 5, 6, 7, 10, 11, 12, 100] as const;
export const TEXT_TYPE = 0;
export const CUSTOM_TYPE = 100;

/** Limits in characters (CommsEase documents text ≤ 5000, ext ≤ 1024 characters). */
export const MESSAGE_LIMITS = {
  [TAG.body]: 5000,
  [TAG.attach]: 100_000,
  [TAG.custom]: 1024,
  [TAG.pushContent]: 500,
  [TAG.pushPayload]: 2048,
  [TAG.idClient]: 64,
} as const;
const LIMIT_NAMES: Record<string, string> = {
  [TAG.body]: 'body',
  [TAG.attach]: 'attach',
  [TAG.custom]: 'ext',
  [TAG.pushContent]: 'pushcontent',
  [TAG.pushPayload]: 'payload',
  [TAG.idClient]: 'idClient',
};

/** Sending is refused with 423 for a muted account (global mute or the P2P module). */
export const muted = () => new DomainError(423, 'account muted');
export const recipientNotFound = (to: string) => new DomainError(404, `${to} not exist`);

/** MESSAGE_LIMITS as rows, in order (checked at every send: no per-send entries arrays). */
const LIMIT_ROWS = Object.entries(MESSAGE_LIMITS).map(([tag, max]) => ({
  tag,
  max,
  name: LIMIT_NAMES[tag] ?? tag,
}));

/** Validates the client-owned fields of a p2p message; returns its numeric type. */
export function checkMessageFields(fields: Record<string, string>): number {
  const type = Number(fields[TAG.type] ?? '0');
  if (!(MESSAGE_TYPES as readonly number[]).includes(type)) throw badParam('type');
  if (!fields[TAG.to]) throw paramEmpty('to');
  if (type === TEXT_TYPE && !fields[TAG.body]) throw paramEmpty('body');
  const tags = Object.keys(fields);
  for (let i = 0; i < tags.length; i++) {
    const tag = tags[i]!;
    if (fields[tag]!.includes('\u0000')) throw badParam(LIMIT_NAMES[tag] ?? tag);
  }
  for (let i = 0; i < LIMIT_ROWS.length; i++) {
    const { tag, max, name } = LIMIT_ROWS[i]!;
    const v = fields[tag];
    if (v !== undefined && !withinLimit(v, max)) throw paramTooLong(name);
  }
  return type;
}

export { PARAM_ERROR };
