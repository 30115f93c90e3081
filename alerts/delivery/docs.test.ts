/**
 * docs/alerts.md shows each example exactly as the test receivers captured it in
 * docs/examples/ (written by webhook, robots and email tests): a changed example must be
 * pasted into the page again, and the signature shown must be that of the body shown.
 */
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { signBody } from './index.ts';
import { EXAMPLES_DIR } from './testing/examples.ts';

const DOC = resolve(import.meta.dirname, '../../docs/alerts.md');
const read = (name: string) => readFileSync(join(EXAMPLES_DIR, name), 'utf8');

describe('docs/alerts.md', () => {
  const doc = readFileSync(DOC, 'utf8');

  it.each(['webhook.json', 'wecom.json', 'dingtalk.json', 'email.txt'])('shows docs/examples/%s as captured', (name) => {
    expect(doc).toContain(read(name).trimEnd());
  });

  it('the example signature is the HMAC of the example body bytes', () => {
    const example = JSON.parse(read('webhook.json')) as { headers: Record<string, string>; secret: string; body: unknown };
    const raw = read('webhook-body.json');
    expect(JSON.parse(raw)).toEqual(example.body);
    expect(example.headers['X-Estate-Signature']).toBe(signBody(example.secret, raw));
    expect(example.headers['Content-Length']).toBe(String(Buffer.byteLength(raw)));
  });
});
