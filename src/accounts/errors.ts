/**
 * Domain errors are values with a CommsEase code and desc; api/reply.ts alone renders them.
 * The desc strings follow the captured patterns of spec/error-codes.md §2:
 * `<param> is empty`, `<accid> not register`, `already register`, `<value> not email`, `bad <param>`.
 */
export class DomainError extends Error {
  constructor(
    readonly code: number,
    readonly desc: string,
  ) {
    // Expected outcomes need no stack trace: capturing one is most of the cost of an Error.
    const limit = Error.stackTraceLimit;
    Error.stackTraceLimit = 0;
    super(desc);
    Error.stackTraceLimit = limit;
    this.name = 'DomainError';
  }
}

export const isDomainError = (e: unknown): e is DomainError => e instanceof DomainError;

export const PARAM_ERROR = 414;

export const alreadyRegistered = () => new DomainError(PARAM_ERROR, 'already register');
export const notRegistered = (accid: string) => new DomainError(PARAM_ERROR, `${accid} not register`);
export const paramEmpty = (param: string) => new DomainError(PARAM_ERROR, `${param} is empty`);
export const paramTooLong = (param: string) => new DomainError(PARAM_ERROR, `${param} too long`);
export const badParam = (param: string) => new DomainError(PARAM_ERROR, `bad ${param}`);
export const notEmail = (value: string) => new DomainError(PARAM_ERROR, `${value} not email`);
