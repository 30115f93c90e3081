/**
 * Time-ordered unique ids (ULID form: 10 characters of time, 16 of randomness, Crockford
 * base32), for alerts, deliveries and silences. Ids made in the same millisecond still sort
 * in the order they were made.
 */
import { randomBytes } from 'node:crypto';

const ALPHABET = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';
let lastTime = -1;
let lastRandom: number[] = [];

function encodeTime(t: number): string {
  let out = '';
  for (let i = 0; i < 10; i++) {
    out = ALPHABET[t % 32] + out;
    t = Math.floor(t / 32);
  }
  return out;
}

export function newId(now = Date.now()): string {
  if (now <= lastTime) {
    // Same millisecond (or the clock went back): increment the random part.
    now = lastTime;
    let i = lastRandom.length - 1;
    while (i >= 0 && lastRandom[i] === 31) lastRandom[i--] = 0;
    if (i >= 0) lastRandom[i]!++;
  } else {
    lastTime = now;
    lastRandom = [...randomBytes(16)].map((b) => b & 31);
  }
  return encodeTime(now) + lastRandom.map((d) => ALPHABET[d]).join('');
}
