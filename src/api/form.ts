/**
 * v1 request bodies: application/x-www-form-urlencoded, UTF-8 percent-encoding, `+` as space
 * (spec/auth.md §5). Strict: a malformed escape or an escape that is not UTF-8 is an error, not a
 * silent U+FFFD. Repeated parameters: the first wins (as a servlet's getParameter). A parameter sent
 * empty counts as not sent (clients send `token=`).
 */
import { DomainError, PARAM_ERROR } from '../accounts/errors.js';

export type FormParams = Readonly<Record<string, string>>;

export const FORM_MEDIA_TYPE = 'application/x-www-form-urlencoded';

/** The names sent with an empty value, kept out of sight of the params themselves. */
const SENT_EMPTY = Symbol('sentEmpty');

/**
 * True when `name` was sent with an empty value (`name=`). Most calls treat that as absent; a few
 * give it a meaning of its own (updateUinfo: empty clears the field, accounts-v1.md §6).
 */
export function sentEmpty(form: FormParams, name: string): boolean {
  const set = (form as { [SENT_EMPTY]?: Set<string> })[SENT_EMPTY];
  return set?.has(name) === true && !(name in form);
}

export function parseForm(body: string): FormParams {
  const out: Record<string, string> = Object.create(null);
  if (body.length === 0) return out;
  let empty: Set<string> | undefined;
  for (const pair of body.split('&')) {
    if (pair.length === 0) continue;
    const eq = pair.indexOf('=');
    const name = decode(eq === -1 ? pair : pair.slice(0, eq));
    const value = eq === -1 ? '' : decode(pair.slice(eq + 1));
    if (value === '') {
      empty ??= new Set();
      empty.add(name);
      continue;
    }
    if (name in out) continue;
    out[name] = value;
  }
  if (empty) Object.defineProperty(out, SENT_EMPTY, { value: empty, enumerable: false });
  return out;
}

function decode(s: string): string {
  const plus = s.includes('+') ? s.replaceAll('+', ' ') : s;
  if (!plus.includes('%')) return plus;
  try {
    return decodeURIComponent(plus);
  } catch {
    throw new DomainError(PARAM_ERROR, 'bad form body: malformed percent-encoding or not UTF-8');
  }
}
