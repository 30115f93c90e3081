/**
 * The signed token of an `ackUrl` (docs/interfaces.md#acknowledgement-links): it lets one recipient acknowledge
 * one alert without a login. Form: base64url(payload JSON) + "." + base64url(HMAC-SHA256 of
 * the encoded payload), the payload being `{"alertId", "recipient"}`.
 *
 * This file only says whether a token is well formed and was signed with the secret. Whether
 * it still works — the alert has resolved ("expired") or that recipient already acknowledged
 * ("reused") — the engine decides against the alert; `AckTokenCode` names those cases too so
 * every refusal of a link speaks one vocabulary.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';

export interface AckClaims {
  alertId: string;
  /** a department id, or 'property' */
  recipient: string;
}

/** Why a token is refused: here `malformed` or `forged`; `expired` and `reused` by the engine. */
export type AckTokenCode = 'malformed' | 'forged' | 'expired' | 'reused';

export type AckTokenResult = ({ ok: true } & AckClaims) | { ok: false; code: 'malformed' | 'forged' };

type Secret = string | Buffer;

const B64URL = /^[A-Za-z0-9_-]+$/;
const SIG_BYTES = 32;
/** Far longer than any real token; a longer one is refused before any work is done on it. */
const MAX_TOKEN = 2048;

function mac(secret: Secret, encodedPayload: string): Buffer {
  return createHmac('sha256', secret).update(encodedPayload, 'utf8').digest();
}

export function signAckToken(secret: Secret, claims: AckClaims): string {
  const payload = Buffer.from(JSON.stringify({ alertId: claims.alertId, recipient: claims.recipient }), 'utf8').toString('base64url');
  return `${payload}.${mac(secret, payload).toString('base64url')}`;
}

export function verifyAckToken(secret: Secret, token: string): AckTokenResult {
  const malformed = { ok: false, code: 'malformed' } as const;
  if (typeof token !== 'string' || token.length > MAX_TOKEN) return malformed;
  const parts = token.split('.');
  if (parts.length !== 2) return malformed;
  const [payload, sig] = parts as [string, string];
  if (!B64URL.test(payload) || !B64URL.test(sig)) return malformed;
  const given = Buffer.from(sig, 'base64url');
  // A canonical encoding of 32 bytes only: no padding bits set, no extra characters.
  if (given.length !== SIG_BYTES || given.toString('base64url') !== sig) return malformed;
  if (!timingSafeEqual(given, mac(secret, payload))) return { ok: false, code: 'forged' };

  let claims: unknown;
  try {
    claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8'));
  } catch {
    return malformed;
  }
  const c = claims as Partial<AckClaims> | null;
  if (typeof c !== 'object' || c === null || typeof c.alertId !== 'string' || typeof c.recipient !== 'string' || !c.alertId || !c.recipient) {
    return malformed;
  }
  return { ok: true, alertId: c.alertId, recipient: c.recipient };
}
