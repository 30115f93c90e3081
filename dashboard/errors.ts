/**
 * The one catalogue of errors the HTTP API answers with: each has a code, a status and a
 * message. Answers are `{"error": {"code", "message"}}` (CONTRACT section 5).
 */
export const ERRORS = {
  UNAUTHENTICATED: { status: 401, message: 'a valid bearer token is required' },
  FORBIDDEN: { status: 403, message: 'this token may not do that' },
  NOT_FOUND: { status: 404, message: 'not found' },
  BAD_REQUEST: { status: 400, message: 'the request is not valid' },
  CONFLICT: { status: 409, message: 'that was already done' },
  GONE: { status: 410, message: 'no longer available' },
  TOO_MANY_REQUESTS: { status: 429, message: 'too many failed attempts; try again later' },
  NOT_READY: { status: 503, message: 'the service is not ready' },
  INTERNAL: { status: 500, message: 'internal error' },
} as const;

export type ErrorCode = keyof typeof ERRORS;

export class ApiError extends Error {
  readonly status: number;
  constructor(
    readonly code: ErrorCode,
    message?: string,
  ) {
    super(message ?? ERRORS[code].message);
    this.status = ERRORS[code].status;
  }
}

export function errorBody(code: string, message: string) {
  return { error: { code, message } };
}
