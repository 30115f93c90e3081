/**
 * The channel senders, picked by `channel.type`, and the target each channel's deliveries
 * queue behind (the worker keeps one queue per target).
 */
import type { Channel, Smtp } from '../../../config/index.ts';
import type { ChannelSender, SenderSet } from '../types.ts';
import { DingtalkSender } from './dingtalk.ts';
import { EmailSender } from './email.ts';
import { WebhookSender } from './webhook.ts';
import { WecomSender } from './wecom.ts';

export interface SenderOptions {
  /** the estate's SMTP settings, for e-mail channels */
  smtp?: Smtp;
  /** per request or SMTP step [10 s] */
  timeoutMs?: number;
}

export function createSenders(opts: SenderOptions = {}): SenderSet {
  const t = opts.timeoutMs === undefined ? {} : { timeoutMs: opts.timeoutMs };
  const senders: Record<Channel['type'], ChannelSender> = {
    webhook: new WebhookSender(t),
    wecom: new WecomSender(t),
    dingtalk: new DingtalkSender(t),
    email: new EmailSender(opts.smtp, t),
  };
  return {
    senderFor: (channel) => senders[channel.type],
    targetOf: (channel) => (channel.type === 'email' ? `smtp://${opts.smtp?.host ?? '-'}:${opts.smtp?.port ?? '-'}` : channel.url),
    async close() {
      await Promise.all(Object.values(senders).map((s) => s.close?.()));
    },
  };
}

export { WebhookSender, signBody, DELIVERY_HEADER, SIGNATURE_HEADER } from './webhook.ts';
export { WecomSender, wecomPayload, WECOM_RETRIABLE } from './wecom.ts';
export { DingtalkSender, dingtalkPayload, dingtalkSign, dingtalkUrl, DINGTALK_RETRIABLE } from './dingtalk.ts';
export { EmailSender, classifyMailError } from './email.ts';
export { emailContent, type EmailContent } from './email-body.ts';
