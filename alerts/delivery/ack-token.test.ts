/**
 * Acknowledgement tokens: a valid one verifies; a changed payload or signature, another
 * secret's token, and garbage are refused with the right code.
 */
import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { signAckToken, verifyAckToken } from './ack-token.ts';

const SECRET = 'ack-secret-for-tests';
const claims = { alertId: '01KB0R6Q2M8V4T7XJ9C3D5F1HN', recipient: 'fire-rescue' };

/** Replaces one character with another of the base64url alphabet. */
function flip(s: string, at: number): string {
  const c = s[at]!;
  return s.slice(0, at) + (c === 'A' ? 'B' : 'A') + s.slice(at + 1);
}

describe('ack tokens', () => {
  const token = signAckToken(SECRET, claims);

  it('a token verifies with its secret and gives its alert and recipient back', () => {
    expect(token).toMatch(/^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]{43}$/);
    expect(verifyAckToken(SECRET, token)).toEqual({ ok: true, ...claims });
    expect(verifyAckToken(Buffer.from(SECRET), token)).toEqual({ ok: true, ...claims });
    // URL-safe as it is: nothing to escape in an ackUrl.
    expect(encodeURIComponent(token)).toBe(token);
  });

  it('the payload is base64url JSON of alertId and recipient, signed with HMAC-SHA256', () => {
    const [payload, sig] = token.split('.') as [string, string];
    expect(JSON.parse(Buffer.from(payload, 'base64url').toString('utf8'))).toEqual(claims);
    expect(sig).toBe(createHmac('sha256', SECRET).update(payload).digest('base64url'));
  });

  it.each([
    ['a tampered payload (another alert)', (): string => {
      const other = Buffer.from(JSON.stringify({ ...claims, alertId: '01KB0R6Q2M8V4T7XJ9C3D5F1HZ' })).toString('base64url');
      return `${other}.${token.split('.')[1]}`;
    }, 'forged'],
    ['a tampered payload (another recipient)', (): string => {
      const other = Buffer.from(JSON.stringify({ ...claims, recipient: 'housing' })).toString('base64url');
      return `${other}.${token.split('.')[1]}`;
    }, 'forged'],
    ['one character of the payload changed', (): string => flip(token, 3), 'forged'],
    ['a tampered signature', (): string => flip(token, token.length - 5), 'forged'],
    ['a token signed with another secret', (): string => signAckToken('another secret', claims), 'forged'],
    ['a signature of the wrong length', (): string => `${token}AA`, 'malformed'],
    ['no signature', (): string => token.split('.')[0]!, 'malformed'],
    ['an empty token', (): string => '', 'malformed'],
    ['three parts', (): string => `${token}.x`, 'malformed'],
    ['characters outside base64url', (): string => token.replace('.', '.+/'), 'malformed'],
    ['garbage', (): string => 'not-a-token', 'malformed'],
    ['a huge token', (): string => 'A'.repeat(10_000), 'malformed'],
  ] as const)('%s is refused as %s', (_what, make, code) => {
    expect(verifyAckToken(SECRET, make())).toEqual({ ok: false, code });
  });

  it('a correctly signed payload that is not the claims is malformed', () => {
    for (const text of ['not json', '[]', '{"alertId":1,"recipient":"x"}', '{"alertId":"a"}', '{"alertId":"","recipient":"x"}']) {
      const payload = Buffer.from(text).toString('base64url');
      const forgedButValid = `${payload}.${createHmac('sha256', SECRET).update(payload).digest('base64url')}`;
      expect(verifyAckToken(SECRET, forgedButValid)).toEqual({ ok: false, code: 'malformed' });
    }
  });
});
