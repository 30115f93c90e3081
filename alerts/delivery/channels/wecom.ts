/**
 * WeCom (企业微信) group robot: POST `{"msgtype":"markdown","markdown":{"content": …}}` to
 * the robot's webhook URL (it carries the robot's key). WeCom answers HTTP 200 with
 * `{"errcode":0,"errmsg":"ok"}` on success and another errcode on failure; rate limiting
 * (45009 API frequency, 45011 minute frequency, 45033 concurrency) and -1 (system busy) are
 * worth retrying, the rest (93000 invalid webhook URL, 40058 bad parameter, …) are not.
 * Markdown content is limited to 4096 bytes.
 */
import type { ChannelSender, Delivery, SendContext, SendResult } from '../types.ts';
import { DEFAULT_TIMEOUT_MS, fromRobotAnswer, post } from './http.ts';
import { robotMarkdown } from './robot-markdown.ts';

export const WECOM_MAX_BYTES = 4096;
export const WECOM_RETRIABLE: ReadonlySet<number> = new Set([-1, 45009, 45011, 45033]);

export function wecomPayload(d: Delivery): { msgtype: 'markdown'; markdown: { content: string } } {
  return { msgtype: 'markdown', markdown: { content: robotMarkdown(d.body, 'wecom', WECOM_MAX_BYTES) } };
}

export class WecomSender implements ChannelSender {
  constructor(private readonly opts: { timeoutMs?: number } = {}) {}

  async send(d: Delivery, ctx: SendContext): Promise<SendResult> {
    if (d.channel.type !== 'wecom') return { ok: false, retriable: false, error: `wecom sender given a ${d.channel.type} channel` };
    const outcome = await post({
      url: d.channel.url,
      body: JSON.stringify(wecomPayload(d)),
      headers: { 'content-type': 'application/json' },
      signal: ctx.signal,
      timeoutMs: this.opts.timeoutMs ?? DEFAULT_TIMEOUT_MS,
    });
    return fromRobotAnswer(outcome, 'WeCom', WECOM_RETRIABLE);
  }
}
