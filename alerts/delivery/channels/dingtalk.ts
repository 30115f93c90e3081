/**
 * DingTalk (钉钉) custom robot: POST `{"msgtype":"markdown","markdown":{"title","text"}}` to
 * the robot's URL (it carries the access token). A robot with 加签 (a secret) needs
 * `&timestamp=<ms>&sign=<sign>` on the URL, where, as DingTalk documents it,
 * sign = urlencode(base64(HMAC-SHA256(key = secret, message = timestamp + "\n" + secret)))
 * and the timestamp is within an hour of DingTalk's clock. The signature is made afresh for
 * each attempt. DingTalk answers HTTP 200 with `{"errcode":0}` on success; 130101 (sending
 * too fast) and -1 (system busy) are worth retrying, the rest (310000 keyword or signature
 * mismatch, 300001 bad token, …) are not.
 */
import { createHmac } from 'node:crypto';
import type { ChannelSender, Delivery, SendContext, SendResult } from '../types.ts';
import { DEFAULT_TIMEOUT_MS, fromRobotAnswer, post } from './http.ts';
import { robotMarkdown, robotTitle } from './robot-markdown.ts';

/** DingTalk documents no limit for markdown here; capped so a runaway summary cannot make a huge message. */
export const DINGTALK_MAX_BYTES = 20_000;
export const DINGTALK_RETRIABLE: ReadonlySet<number> = new Set([-1, 130101]);

/** base64(HMAC-SHA256(secret, `${timestamp}\n${secret}`)), before URL encoding. */
export function dingtalkSign(secret: string, timestamp: number): string {
  return createHmac('sha256', secret).update(`${timestamp}\n${secret}`, 'utf8').digest('base64');
}

/** The robot URL with `timestamp` and `sign` appended (unchanged without a secret). */
export function dingtalkUrl(url: string, secret: string | undefined, timestamp: number): string {
  if (!secret) return url;
  const sep = url.includes('?') ? '&' : '?';
  return `${url}${sep}timestamp=${timestamp}&sign=${encodeURIComponent(dingtalkSign(secret, timestamp))}`;
}

export function dingtalkPayload(d: Delivery): { msgtype: 'markdown'; markdown: { title: string; text: string } } {
  return { msgtype: 'markdown', markdown: { title: robotTitle(d.body), text: robotMarkdown(d.body, 'dingtalk', DINGTALK_MAX_BYTES) } };
}

export class DingtalkSender implements ChannelSender {
  constructor(private readonly opts: { timeoutMs?: number } = {}) {}

  async send(d: Delivery, ctx: SendContext): Promise<SendResult> {
    if (d.channel.type !== 'dingtalk') return { ok: false, retriable: false, error: `dingtalk sender given a ${d.channel.type} channel` };
    const outcome = await post({
      url: dingtalkUrl(d.channel.url, d.channel.secret, ctx.now()),
      body: JSON.stringify(dingtalkPayload(d)),
      headers: { 'content-type': 'application/json' },
      signal: ctx.signal,
      timeoutMs: this.opts.timeoutMs ?? DEFAULT_TIMEOUT_MS,
    });
    return fromRobotAnswer(outcome, 'DingTalk', DINGTALK_RETRIABLE);
  }
}
