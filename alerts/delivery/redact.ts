/**
 * A channel as it may be shown or logged: robot keys and access tokens live in the URL's
 * query, webhook and DingTalk secrets beside it, so only the type and a redacted target leave
 * the outbox.
 */
import type { Channel } from '../../config/index.ts';

const SECRET = '<secret>';

function redactUrl(raw: string): string {
  try {
    const u = new URL(raw);
    const params = [...u.searchParams.keys()].map((k) => `${encodeURIComponent(k)}=${SECRET}`);
    const auth = u.username || u.password ? `${SECRET}@` : '';
    return `${u.protocol}//${auth}${u.host}${u.pathname}${params.length ? `?${params.join('&')}` : ''}`;
  } catch {
    return SECRET;
  }
}

export function redactChannel(c: Channel): { type: Channel['type']; target: string } {
  return { type: c.type, target: c.type === 'email' ? c.to.join(', ') : redactUrl(c.url) };
}
