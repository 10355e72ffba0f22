/**
 * Domain errors are values with a CommsEase code and desc; api/reply.ts alone renders them.
 * The desc strings follow the captured patterns of spec/error-codes.md §2:
 * `<param> is empty`, `<accid> not register`, `already register`, `<value> not email`, `bad <param>`.
 */
export class DomainError extends Error {
  constructor(
    readonly code: number,
    readonly desc: string,
    /** The parameter at fault (v1 name) and the kind of fault: lets the v2 face rename it. */
    readonly detail?: { param: string; kind: ErrorKind } | undefined,
  ) {
    // Expected outcomes need no stack trace: capturing one is most of the cost of an Error.
    const limit = Error.stackTraceLimit;
    Error.stackTraceLimit = 0;
    super(desc);
    Error.stackTraceLimit = limit;
    this.name = 'DomainError';
  }
}

export type ErrorKind = 'empty' | 'tooLong' | 'bad' | 'notRegistered' | 'notEmail' | 'tooMany' | 'exists';

export const isDomainError = (e: unknown): e is DomainError => e instanceof DomainError;

export const PARAM_ERROR = 414;

export const alreadyRegistered = () =>
  new DomainError(PARAM_ERROR, 'already register', { param: 'accid', kind: 'exists' });
export const notRegistered = (accid: string, param = 'accid') =>
  new DomainError(PARAM_ERROR, `${accid} not register`, { param, kind: 'notRegistered' });
export const paramEmpty = (param: string) =>
  new DomainError(PARAM_ERROR, `${param} is empty`, { param, kind: 'empty' });
export const paramTooLong = (param: string) =>
  new DomainError(PARAM_ERROR, `${param} too long`, { param, kind: 'tooLong' });
export const badParam = (param: string) =>
  new DomainError(PARAM_ERROR, `bad ${param}`, { param, kind: 'bad' });
export const notEmail = (value: string, param = 'email') =>
  new DomainError(PARAM_ERROR, `${value} not email`, { param, kind: 'notEmail' });
/** More list elements than a call allows (getUinfos > 200, batch create > 1000…). */
export const tooMany = (param: string, max: number) =>
  new DomainError(PARAM_ERROR, `${param} exceeds ${max}`, { param, kind: 'tooMany' });
