/**
 * The e-mail channel against a real local SMTP server (smtp-server, 127.0.0.1, no TLS): the
 * message arrives with a zh-CN subject, both languages in the text and HTML bodies, the ack
 * link (a report's link) and X-Estate-Delivery, for one alert, a group and a report;
 * temporary (4yz) refusals are retried, permanent (5yz) are not.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { simpleParser, type ParsedMail } from 'mailparser';
import { SMTPServer } from 'smtp-server';
import { freePort, waitFor } from '../../test/harness/ports.ts';
import type { Smtp } from '../../config/index.ts';
import { createSenders, DeliveryWorker, Outbox, type Delivery } from './index.ts';
import { EmailSender } from './channels/email.ts';
import { writeExample } from './testing/examples.ts';
import { FIXED, sampleDelivery, sampleGroup, sampleItem, sampleReport, tempStore } from './testing/fixtures.ts';

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

  it('sends a group with a zh-CN subject, its count and each alert in both languages, and no ack link', async () => {
    const box = await mailbox();
    const body = sampleGroup();
    const d: Delivery = { ...sampleDelivery({ type: 'email', to: TO }), alertId: body.group.key, event: 'alert.group', recipient: 'property', body };
    expect(await new EmailSender(box.smtp).send(d, ctx)).toEqual({ ok: true });
    await waitFor('the mail', () => box.mails[0], 10_000);
    const m = box.mails[0]!;
    expect(m.subject).toBe('【告警·3条】金佛花园 设备无数据');
    expect(header(m, 'X-Estate-Delivery')).toBe(FIXED.deliveryId);
    const text = m.text ?? '';
    const html = String(m.html);
    for (const part of [text, html]) {
      expect(part).toContain('【告警·3条】金佛花园 设备无数据');
      expect(part).toContain('[Alert · 3] 金佛花园 Device silent');
      expect(part).toContain('金佛花园 3 条：设备无数据');
      expect(part).toContain('3 alerts at 金佛花园: Device silent');
      expect(part).toContain('7栋消火栓 HY-07 已 30 分钟无数据（已恢复）');
      expect(part).toContain('Hydrant HY-07 has sent nothing for 30 min (resolved)');
      expect(part).not.toContain('/ack/');
    }
    expect(text).toContain('条数：3');
    expect(text).toContain('Alerts: 3');
    expect(text).toContain('- 3栋消火栓 HY-03 已 30 分钟无数据');
    expect(text).toContain('- Hydrant HY-04 has sent nothing for 30 min');
    expect(html).toContain('<li>4栋消火栓 HY-04 已 30 分钟无数据</li>');
    expect(html).not.toContain('点击确认');
  });

  it('sends a report with a zh-CN subject, its period, a link to open it and its other formats, in both languages', async () => {
    const box = await mailbox();
    const body = sampleReport();
    const f = body.report.formats;
    const d: Delivery = { ...sampleDelivery({ type: 'email', to: TO }), alertId: body.report.id, event: 'report.ready', recipient: 'property', body };
    expect(await new EmailSender(box.smtp).send(d, ctx)).toEqual({ ok: true });
    await waitFor('the mail', () => box.mails[0], 10_000);
    const m = box.mails[0]!;
    expect(m.subject).toMatch(/^【报告】设施健康报告 2026-11-24/);
    const text = m.text ?? '';
    const html = String(m.html);
    expect(text).toContain(`查看报告：${f.html}`);
    expect(text).toContain(`Open the report: ${f.html}`);
    expect(text).toContain(`- CSV: ${f.csv}`);
    expect(text).toContain(`- JSON: ${f.json}`);
    expect(text).toContain('报告已生成，可在线查看或下载。');
    expect(text).toContain('The report is ready to read or download.');
    expect(text).toMatch(/统计期间：2026-11-24/);
    expect(text).toMatch(/Period: 2026-11-24/);
    expect(text).toContain('[Report] Equipment health report 2026-11-24');
    expect(html).toContain(`href="${f.html.replaceAll('&', '&amp;')}"`);
    expect(html).toContain('>查看报告</a>');
    expect(html).toContain('>Open the report</a>');
    expect(html).toContain(`<li>CSV: ${f.csv}</li>`);
    expect(html).not.toContain('点击确认');
  });

  it('retries a temporary refusal (451) and delivers, through the worker', async () => {
    const box = await mailbox();
    box.refuse.push(451);
    const t = await tempStore();
    const outbox = new Outbox(t.db);
    const worker = new DeliveryWorker({ outbox, senders: createSenders({ smtp: box.smtp }), backoff: { baseMs: 50, capMs: 100 } });
    worker.start();
    cleanups.push(async () => {
      await worker.stop();
      await t.close();
    });
    const [id] = await outbox.enqueue([sampleItem({ type: 'email', to: TO })]);
    await waitFor('sent', async () => (await outbox.get(id!))?.status === 'sent', 10_000);
    expect(await outbox.get(id!)).toMatchObject({ attempts: 2, lastError: expect.stringContaining('451') });
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
