/**
 * The e-mail channel against a real local SMTP server (smtp-server, 127.0.0.1, no TLS): the
 * message arrives with a zh-CN subject, both languages in the text and HTML bodies, the ack
 * link and X-Estate-Delivery; temporary (4yz) refusals are retried, permanent (5yz) are not.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { simpleParser, type ParsedMail } from 'mailparser';
import { SMTPServer } from 'smtp-server';
import { freePort, waitFor } from '../../test/harness/ports.ts';
import type { Smtp } from '../../config/index.ts';
import { createSenders, DeliveryWorker, Outbox, type Delivery } from './index.ts';
import { EmailSender } from './channels/email.ts';
import { writeExample } from './testing/examples.ts';
import { FIXED, sampleDelivery, sampleItem, tempStore } from './testing/fixtures.ts';

const ctx = { signal: new AbortController().signal, now: () => FIXED.now };
const TO = ['fire-desk@example.gov.cn'];

interface Mailbox {
  smtp: Smtp;
  mails: ParsedMail[];
  /** what to answer to RCPT TO: 0 accept, else that SMTP code */
  refuse: number[];
}

let cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.reverse()) await c();
  cleanups = [];
});

async function mailbox(): Promise<Mailbox> {
  const box: Mailbox = { smtp: { host: '127.0.0.1', port: 0, secure: false, from: '小区设施监测平台 <sentinel@example.org>' }, mails: [], refuse: [] };
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS', 'AUTH'],
    logger: false,
    onRcptTo(_address, _session, cb) {
      const code = box.refuse.shift() ?? 0;
      if (!code) return cb();
      cb(Object.assign(new Error(code < 500 ? 'mailbox busy, try later' : 'no such mailbox'), { responseCode: code }));
    },
    onData(stream, _session, cb) {
      simpleParser(stream)
        .then((m) => {
          box.mails.push(m);
          cb();
        })
        .catch(cb);
    },
  });
  const port = await freePort();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve());
  });
  box.smtp.port = port;
  cleanups.push(() => new Promise<void>((r) => server.close(() => r())));
  return box;
}

function header(m: ParsedMail, name: string): string {
  return String(m.headers.get(name.toLowerCase()) ?? '');
}

describe('e-mail delivery', () => {
  it('sends a zh-CN subject, both languages, the ack link and X-Estate-Delivery', async () => {
    const box = await mailbox();
    const d: Delivery = sampleDelivery({ type: 'email', to: TO });
    expect(await new EmailSender(box.smtp).send(d, ctx)).toEqual({ ok: true });
    await waitFor('the mail', () => box.mails[0], 10_000);
    const m = box.mails[0]!;
    expect(m.subject).toBe('【严重告警】金佛花园 3栋 消火栓 HY-03 压力过低');
    expect(header(m, 'X-Estate-Delivery')).toBe(FIXED.deliveryId);
    expect(m.messageId).toBe(`<${FIXED.deliveryId}@estate-sentinel>`);
    expect(m.date?.getTime()).toBe(Math.floor(FIXED.now / 1000) * 1000);
    for (const body of [m.text ?? '', String(m.html)]) {
      expect(body).toContain('3栋消火栓压力 0.08 MPa，低于 0.10 MPa');
      expect(body).toContain('Hydrant HY-03 pressure 0.08 MPa is below 0.10 MPa');
      expect(body).toContain('2026-11-25 16:00:04');
      expect(body).toContain(FIXED.ackUrl);
    }
    expect(m.text).toContain('接收单位：区消防救援支队');
    expect(m.text).toContain('Recipient: 区消防救援支队');
    expect(m.text).toContain('[Critical alert] 金佛花园 3栋 Fire hydrant HY-03 Pressure low');
    expect(String(m.html)).toContain(`href="${FIXED.ackUrl}"`);

    const example = [
      `From: ${m.from?.text ?? ''}`,
      `To: ${(Array.isArray(m.to) ? m.to : [m.to]).map((a) => a?.text ?? '').join(', ')}`,
      `Subject: ${m.subject ?? ''}`,
      `Date: ${m.date?.toISOString() ?? ''}`,
      `Message-ID: ${m.messageId ?? ''}`,
      `X-Estate-Delivery: ${header(m, 'X-Estate-Delivery')}`,
      `Auto-Submitted: ${header(m, 'Auto-Submitted')}`,
      '',
      m.text ?? '',
    ].join('\n');
    writeExample('email.txt', example);
  });

  it('retries a temporary refusal (451) and delivers, through the worker', async () => {
    const box = await mailbox();
    box.refuse.push(451);
    const t = tempStore();
    const outbox = new Outbox(t.store.db);
    const worker = new DeliveryWorker({ outbox, senders: createSenders({ smtp: box.smtp }), backoff: { baseMs: 50, capMs: 100 } });
    worker.start();
    cleanups.push(async () => {
      await worker.stop();
      t.close();
    });
    const [id] = outbox.enqueue([sampleItem({ type: 'email', to: TO })]);
    await waitFor('sent', () => outbox.get(id!)?.status === 'sent', 10_000);
    expect(outbox.get(id!)).toMatchObject({ attempts: 2, lastError: expect.stringContaining('451') });
    expect(box.mails).toHaveLength(1);
    expect(header(box.mails[0]!, 'X-Estate-Delivery')).toBe(id);
  });

  it('does not retry a permanent refusal (550)', async () => {
    const box = await mailbox();
    box.refuse.push(550);
    const result = await new EmailSender(box.smtp).send(sampleDelivery({ type: 'email', to: TO }), ctx);
    expect(result).toMatchObject({ ok: false, retriable: false, error: expect.stringContaining('550') });
  });

  it('retries when the SMTP server cannot be reached', async () => {
    const port = await freePort();
    const result = await new EmailSender({ host: '127.0.0.1', port, secure: false, from: 'x@example.org' }, { timeoutMs: 2_000 }).send(
      sampleDelivery({ type: 'email', to: TO }),
      ctx,
    );
    expect(result).toMatchObject({ ok: false, retriable: true, error: expect.stringContaining('ECONNREFUSED') });
  });

  it('refuses to send without smtp settings, not worth retrying', async () => {
    const result = await new EmailSender(undefined).send(sampleDelivery({ type: 'email', to: TO }), ctx);
    expect(result).toEqual({ ok: false, retriable: false, error: 'an email channel needs the smtp settings of the estate file' });
  });
});
