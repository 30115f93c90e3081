/**
 * E-mail channel: one message per delivery to the channel's addresses through the estate's
 * SMTP server (`smtp` in the estate file), with nodemailer. The subject is zh-CN; the text and
 * HTML bodies say it in zh-CN and en, with the acknowledgement link. Headers:
 * `X-Estate-Delivery` (the delivery id, as on webhooks) and a Message-ID made from it, so a
 * retry is the same message to mail systems that deduplicate.
 *
 * Worth retrying: connection failures and timeouts, and 4yz replies (temporary by RFC 5321),
 * as well as 503 (a session in the wrong state, fine on a new connection). Not worth it: other
 * 5yz replies (the server refused the message or a recipient), failed authentication and a
 * configuration the server cannot use.
 */
import type { Transporter } from 'nodemailer';
import type { Smtp } from '../../../config/index.ts';
import type { ChannelSender, Delivery, SendContext, SendResult } from '../types.ts';
import { DELIVERY_HEADER } from './webhook.ts';
import { emailContent } from './email-body.ts';

export const SMTP_TIMEOUT_MS = 10_000;

interface MailError {
  message?: string;
  code?: string;
  responseCode?: number;
  response?: string;
}

/** Codes of errors that the same message on a new connection would meet again. */
const PERMANENT_CODES = new Set(['EAUTH', 'ENOAUTH', 'ECONFIG', 'EREQUIRETLS', 'EMAXRECIPIENTS', 'EENVELOPE']);

export function classifyMailError(err: unknown, aborted: boolean): SendResult {
  const e = (err ?? {}) as MailError;
  const text = (e.response ?? e.message ?? String(err)).slice(0, 500);
  const error = `SMTP${e.responseCode ? ` ${e.responseCode}` : ''}${e.code ? ` ${e.code}` : ''}: ${text}`;
  if (aborted) return { ok: false, retriable: true, error: 'abandoned: the delivery worker stopped' };
  const rc = e.responseCode;
  if (rc !== undefined && rc >= 400 && rc < 500) return { ok: false, retriable: true, error };
  if (rc !== undefined && rc >= 500) return { ok: false, retriable: rc === 503, error };
  return { ok: false, retriable: !PERMANENT_CODES.has(e.code ?? ''), error };
}

export class EmailSender implements ChannelSender {
  /** nodemailer is loaded with the first e-mail: an estate without e-mail channels never pays for it */
  private transport: Transporter | undefined;
  private readonly timeout: number;

  constructor(
    private readonly smtp: Smtp | undefined,
    opts: { timeoutMs?: number } = {},
  ) {
    this.timeout = opts.timeoutMs ?? SMTP_TIMEOUT_MS;
  }

  private async connect(smtp: Smtp): Promise<Transporter> {
    if (this.transport) return this.transport;
    const { createTransport } = await import('nodemailer');
    this.transport ??= createTransport({
      host: smtp.host,
      port: smtp.port,
      secure: smtp.secure,
      ...(smtp.user ? { auth: { user: smtp.user, pass: smtp.password ?? '' } } : {}),
      connectionTimeout: this.timeout,
      greetingTimeout: this.timeout,
      socketTimeout: 3 * this.timeout,
    });
    return this.transport;
  }

  async send(d: Delivery, ctx: SendContext): Promise<SendResult> {
    if (d.channel.type !== 'email') return { ok: false, retriable: false, error: `email sender given a ${d.channel.type} channel` };
    if (!this.smtp) return { ok: false, retriable: false, error: 'an email channel needs the smtp settings of the estate file' };
    const transport = await this.connect(this.smtp);
    const content = emailContent(d.body);
    try {
      const info = await transport.sendMail({
        from: this.smtp.from,
        to: d.channel.to,
        subject: content.subject,
        text: content.text,
        html: content.html,
        date: new Date(ctx.now()),
        messageId: `<${d.id}@estate-sentinel>`,
        headers: { [DELIVERY_HEADER]: d.id, 'Auto-Submitted': 'auto-generated' },
        signal: ctx.signal,
      });
      const accepted = (info as { accepted?: unknown[] }).accepted ?? [];
      if (accepted.length === 0) return { ok: false, retriable: false, error: 'SMTP: no recipient accepted' };
      return { ok: true };
    } catch (err) {
      return classifyMailError(err, ctx.signal.aborted);
    }
  }

  async close(): Promise<void> {
    this.transport?.close();
  }
}
