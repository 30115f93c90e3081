/**
 * Webhook channel (docs/interfaces.md#deliveries): POSTs the Notification as JSON. Headers:
 * `X-Estate-Delivery` (the delivery id, the same on every retry: receivers deduplicate by it)
 * and, where the channel has a secret, `X-Estate-Signature: sha256=<hex HMAC-SHA256 of the
 * raw body>`. The body is the stored Notification serialised the same way on every attempt,
 * so a retry carries the same bytes and the same signature.
 */
import { createHmac } from 'node:crypto';
import type { ChannelSender, Delivery, SendContext, SendResult } from '../types.ts';
import { DEFAULT_TIMEOUT_MS, fromStatus, post } from './http.ts';

export const DELIVERY_HEADER = 'X-Estate-Delivery';
export const SIGNATURE_HEADER = 'X-Estate-Signature';

/** `sha256=<hex>` of the exact body bytes: what a receiver recomputes to check a delivery. */
export function signBody(secret: string, body: string | Buffer): string {
  return `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;
}

export class WebhookSender implements ChannelSender {
  constructor(private readonly opts: { timeoutMs?: number } = {}) {}

  async send(d: Delivery, ctx: SendContext): Promise<SendResult> {
    if (d.channel.type !== 'webhook') return { ok: false, retriable: false, error: `webhook sender given a ${d.channel.type} channel` };
    const body = JSON.stringify(d.body);
    const headers: Record<string, string> = {
      'content-type': 'application/json',
      [DELIVERY_HEADER]: d.id,
    };
    if (d.channel.secret) headers[SIGNATURE_HEADER] = signBody(d.channel.secret, body);
    const outcome = await post({ url: d.channel.url, body, headers, signal: ctx.signal, timeoutMs: this.opts.timeoutMs ?? DEFAULT_TIMEOUT_MS });
    return fromStatus(outcome);
  }
}
