/**
 * The one catalogue of errors the HTTP API answers with: each has a code, a status and a
 * message. Answers are `{"error": {"code", "message"}}` (docs/interfaces.md#errors).
 */
export const ERRORS = {
  UNAUTHENTICATED: { status: 401, message: 'a valid bearer token is required' },
  FORBIDDEN: { status: 403, message: 'this token may not do that' },
  NOT_FOUND: { status: 404, message: 'not found' },
  BAD_REQUEST: { status: 400, message: 'the request is not valid' },
  CONFLICT: { status: 409, message: 'that was already done' },
  GONE: { status: 410, message: 'no longer available' },
  REQUEST_TIMEOUT: { status: 408, message: 'the request took too long to arrive' },
  PAYLOAD_TOO_LARGE: { status: 413, message: 'the request body is too large' },
  UNSUPPORTED_MEDIA_TYPE: { status: 415, message: 'the request body must be JSON (or a form, for /ack)' },
  TOO_MANY_REQUESTS: { status: 429, message: 'too many failed attempts; try again later' },
  RATE_LIMITED: { status: 429, message: 'too many requests from this address; try again later' },
  HEADERS_TOO_LARGE: { status: 431, message: 'the request line or its headers are too large' },
  NOT_READY: { status: 503, message: 'the service is not ready' },
  STORE_UNAVAILABLE: { status: 503, message: 'the operational store cannot be used right now; try again shortly' },
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

/** The catalogue's code for a status that fastify or Node chose (a body too large, a bad media type…); BAD_REQUEST for any other 4xx. */
export function codeForStatus(status: number): ErrorCode {
  for (const [code, e] of Object.entries(ERRORS)) if (e.status === status) return code as ErrorCode;
  return 'BAD_REQUEST';
}

export function errorBody(code: string, message: string) {
  return { error: { code, message } };
}
