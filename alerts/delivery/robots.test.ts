/**
 * The WeCom and DingTalk group robots against local fake robot servers: the markdown message
 * is zh-CN and says what happened (of one alert, of a group of alerts, of a report made
 * ready); errcodes are judged retriable or not; DingTalk's URL signature is the one DingTalk
 * documents, computed here independently.
 */
import { createHmac } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { waitFor } from '../../test/harness/ports.ts';
import { createSenders, DeliveryWorker, Outbox, type Delivery, type GiveUpReason } from './index.ts';
import { DingtalkSender } from './channels/dingtalk.ts';
import { WECOM_MAX_BYTES, WecomSender } from './channels/wecom.ts';
import { stablePort, writeExample } from './testing/examples.ts';
import { FIXED, sampleDelivery, sampleGroup, sampleItem, sampleNotification, sampleReport, tempStore } from './testing/fixtures.ts';
import { answers, Receiver, type Answer } from './testing/receiver.ts';

const ctx = { signal: new AbortController().signal, now: () => FIXED.now };

let cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.reverse()) await c();
  cleanups = [];
});

async function robot(respond: (i: number) => Answer = () => answers.robotOk()): Promise<Receiver> {
  const rec = new Receiver((_r, i) => respond(i));
  await rec.listen();
  cleanups.push(() => rec.close());
  return rec;
}

/** An outbox and worker; resolves what was given up. */
async function pipeline(): Promise<{ outbox: Outbox; gaveUp: { d: Delivery; error: string; reason: GiveUpReason }[] }> {
  const t = await tempStore();
  const outbox = new Outbox(t.db);
  const gaveUp: { d: Delivery; error: string; reason: GiveUpReason }[] = [];
  const worker = new DeliveryWorker({
    outbox,
    senders: createSenders(),
    backoff: { baseMs: 50, capMs: 100 },
    onGaveUp: (d, error, reason) => void gaveUp.push({ d, error, reason }),
  });
  worker.start();
  cleanups.push(async () => {
    await worker.stop();
    await t.close();
  });
  return { outbox, gaveUp };
}

const content = (r: { json: unknown }) => (r.json as { markdown: { content: string } }).markdown.content;
const text = (r: { json: unknown }) => (r.json as { markdown: { title: string; text: string } }).markdown;

describe('WeCom group robot', () => {
  it('posts a zh-CN markdown message with the summary, the facts and the ack link', async () => {
    const rec = await robot();
    const result = await new WecomSender().send(sampleDelivery({ type: 'wecom', url: rec.url('/cgi-bin/webhook/send?key=robot-key') }), ctx);
    expect(result).toEqual({ ok: true });
    const r = rec.received[0]!;
    expect(r.url).toBe('/cgi-bin/webhook/send?key=robot-key');
    expect(r.headers['content-type']).toBe('application/json');
    expect((r.json as { msgtype: string }).msgtype).toBe('markdown');
    const c = content(r);
    expect(c).toContain('【严重告警】');
    expect(c).toContain('金佛花园 3栋 消火栓 HY-03 压力过低');
    expect(c).toContain('3栋消火栓压力 0.08 MPa，低于 0.10 MPa');
    expect(c).toContain('**当前值**：0.08 MPa');
    expect(c).toContain('**阈值**：0.10 MPa');
    expect(c).toContain('**开始时间**：2026-11-25 16:00:04（北京时间）');
    expect(c).toContain(`[点击确认](${FIXED.ackUrl})`);
    expect(c).not.toMatch(/Hydrant|pressure/);
    writeExample('wecom.json', `${JSON.stringify({ request: `POST ${stablePort(rec.url(r.url), rec.port)}`, body: r.json }, null, 2)}\n`);
  });

  it('labels each event and severity in zh-CN', async () => {
    const rec = await robot();
    const cases = [
      ['alert.acknowledged', 'critical', '【已确认·严重】'],
      ['alert.escalated', 'critical', '【已升级·严重】'],
      ['alert.reminder', 'warning', '【提醒·警告】'],
      ['alert.resolved', 'critical', '【已恢复·严重】'],
      ['alert.firing', 'warning', '【警告】'],
    ] as const;
    for (const [event, severity] of cases) {
      const body = sampleNotification({ event });
      body.alert = { ...body.alert, severity };
      expect(await new WecomSender().send(sampleDelivery({ type: 'wecom', url: rec.url() }, { body }), ctx)).toEqual({ ok: true });
    }
    expect(rec.received.map((r) => content(r).split('\n')[0]!.match(/【[^】]+】/)![0])).toEqual(cases.map((c) => c[2]));
  });

  it('keeps the content within 4096 bytes, with the ack link whole', async () => {
    const rec = await robot();
    const body = sampleNotification();
    body.alert = { ...body.alert, summary: { 'zh-CN': '很长的说明'.repeat(600), en: 'long' } };
    await new WecomSender().send(sampleDelivery({ type: 'wecom', url: rec.url() }, { body }), ctx);
    const c = content(rec.received[0]!);
    expect(Buffer.byteLength(c)).toBeLessThanOrEqual(WECOM_MAX_BYTES);
    expect(c).toContain(FIXED.ackUrl);
    expect(c).not.toContain('\uFFFD');
  });

  it('retries errcode 45009 (rate limit) and delivers; gives up errcode 93000 (invalid webhook URL) at once', async () => {
    const limited = await robot((i) => (i === 0 ? answers.robotError(45009, 'api freq out of limit') : answers.robotOk()));
    const invalid = await robot(() => answers.robotError(93000, 'invalid webhook url'));
    const { outbox, gaveUp } = await pipeline();
    const [a] = await outbox.enqueue([sampleItem({ type: 'wecom', url: limited.url() })]);
    const [b] = await outbox.enqueue([sampleItem({ type: 'wecom', url: invalid.url() })]);
    await waitFor('both settled', async () => (await outbox.get(a!))!.status === 'sent' && (await outbox.get(b!))!.status === 'failed', 10_000);
    expect(limited.received).toHaveLength(2);
    expect(await outbox.get(a!)).toMatchObject({ attempts: 2, lastError: 'WeCom errcode 45009: api freq out of limit' });
    expect(invalid.received).toHaveLength(1);
    expect(gaveUp).toEqual([expect.objectContaining({ reason: 'rejected', error: 'WeCom errcode 93000: invalid webhook url' })]);
  });

  it('an HTTP error from the robot is judged like a webhook answer', async () => {
    const rec = await robot(() => ({ status: 502 }));
    expect(await new WecomSender().send(sampleDelivery({ type: 'wecom', url: rec.url() }), ctx)).toMatchObject({ ok: false, retriable: true });
  });
});

describe('DingTalk custom robot', () => {
  const SECRET = 'SEC000000000000000000000000000000000000000000000000000000000000000';

  /** DingTalk's documented algorithm, written out independently of the sender. */
  function documentedSign(timestamp: number, secret: string): string {
    const stringToSign = `${timestamp}\n${secret}`;
    const hmac = createHmac('sha256', Buffer.from(secret, 'utf8')).update(Buffer.from(stringToSign, 'utf8')).digest();
    return encodeURIComponent(hmac.toString('base64'));
  }

  it('signs the URL with timestamp and sign as DingTalk documents, and posts zh-CN markdown', async () => {
    const rec = await robot();
    const url = rec.url('/robot/send?access_token=robot-token');
    expect(await new DingtalkSender().send(sampleDelivery({ type: 'dingtalk', url, secret: SECRET }), ctx)).toEqual({ ok: true });
    const r = rec.received[0]!;
    const got = new URL(r.url, 'http://x');
    expect(got.pathname).toBe('/robot/send');
    expect(got.searchParams.get('access_token')).toBe('robot-token');
    expect(got.searchParams.get('timestamp')).toBe(String(FIXED.now));
    expect(r.url).toBe(`/robot/send?access_token=robot-token&timestamp=${FIXED.now}&sign=${documentedSign(FIXED.now, SECRET)}`);
    // What DingTalk does on its side: decode, recompute, compare.
    const expected = createHmac('sha256', SECRET).update(`${got.searchParams.get('timestamp')}\n${SECRET}`).digest('base64');
    expect(got.searchParams.get('sign')).toBe(expected);

    const md = text(r);
    expect((r.json as { msgtype: string }).msgtype).toBe('markdown');
    expect(md.title).toBe('【严重告警】金佛花园 3栋 消火栓 HY-03 压力过低');
    expect(md.text).toContain('3栋消火栓压力 0.08 MPa，低于 0.10 MPa');
    expect(md.text).toContain('**小区**：金佛花园');
    expect(md.text).toContain(`[点击确认](${FIXED.ackUrl})`);
    writeExample('dingtalk.json', `${JSON.stringify({ request: `POST ${stablePort(rec.url(r.url), rec.port)}`, secret: SECRET, body: r.json }, null, 2)}\n`);
  });

  it('without a secret the URL is left as configured', async () => {
    const rec = await robot();
    await new DingtalkSender().send(sampleDelivery({ type: 'dingtalk', url: rec.url('/robot/send?access_token=t') }), ctx);
    expect(rec.received[0]!.url).toBe('/robot/send?access_token=t');
  });

  it('retries errcode 130101 (sending too fast); gives up errcode 310000 (signature or keyword mismatch)', async () => {
    const limited = await robot((i) => (i === 0 ? answers.robotError(130101, 'send too fast') : answers.robotOk()));
    const refused = await robot(() => answers.robotError(310000, 'sign not match'));
    const { outbox, gaveUp } = await pipeline();
    const [a] = await outbox.enqueue([sampleItem({ type: 'dingtalk', url: limited.url('/robot/send?access_token=a'), secret: SECRET })]);
    const [b] = await outbox.enqueue([sampleItem({ type: 'dingtalk', url: refused.url('/robot/send?access_token=b'), secret: SECRET })]);
    await waitFor('both settled', async () => (await outbox.get(a!))!.status === 'sent' && (await outbox.get(b!))!.status === 'failed', 10_000);
    expect(limited.received).toHaveLength(2);
    expect(refused.received).toHaveLength(1);
    expect(gaveUp).toEqual([expect.objectContaining({ reason: 'rejected', error: 'DingTalk errcode 310000: sign not match' })]);
  });
});

describe('a group and a report on the robots', () => {
  const SENDERS = { wecom: () => new WecomSender(), dingtalk: () => new DingtalkSender() };
  /** The markdown a robot got, and DingTalk's title (WeCom has none). */
  const markdownOf = (type: 'wecom' | 'dingtalk', r: { json: unknown }) => (type === 'wecom' ? { title: null, md: content(r) } : { title: text(r).title, md: text(r).text });

  it.each(['wecom', 'dingtalk'] as const)('%s: a group is its title with the count, its facts and one line per alert, in zh-CN', async (type) => {
    const rec = await robot();
    const body = sampleGroup();
    const d: Delivery = { ...sampleDelivery({ type, url: rec.url() }), alertId: body.group.key, event: 'alert.group', recipient: 'property', body };
    expect(await SENDERS[type]().send(d, ctx)).toEqual({ ok: true });
    const { title, md } = markdownOf(type, rec.received[0]!);
    const nl = type === 'wecom' ? '\n' : '\n\n';
    const heading = type === 'wecom' ? '### <font color="comment">【告警·3条】</font>金佛花园 设备无数据' : '### 【告警·3条】金佛花园 设备无数据';
    expect(md.split(nl)).toEqual([
      heading,
      '> 金佛花园 3 条：设备无数据',
      '**接收单位**：金佛花园物业服务中心',
      '**小区**：金佛花园',
      '**条数**：3',
      '- 3栋消火栓 HY-03 已 30 分钟无数据',
      '- 4栋消火栓 HY-04 已 30 分钟无数据',
      '- 7栋消火栓 HY-07 已 30 分钟无数据（已恢复）',
    ]);
    if (type === 'dingtalk') expect(title).toBe('【告警·3条】金佛花园 设备无数据');
    expect(md).not.toMatch(/Hydrant|silent|点击确认/);
  });

  it.each(['wecom', 'dingtalk'] as const)('%s: a report is its title, period and a link to open it, its other formats listed, in zh-CN', async (type) => {
    const rec = await robot();
    const body = sampleReport();
    const f = body.report.formats;
    const d: Delivery = { ...sampleDelivery({ type, url: rec.url() }), alertId: body.report.id, event: 'report.ready', recipient: 'property', body };
    expect(await SENDERS[type]().send(d, ctx)).toEqual({ ok: true });
    const { title, md } = markdownOf(type, rec.received[0]!);
    const nl = type === 'wecom' ? '\n' : '\n\n';
    const lines = md.split(nl);
    expect(lines[0]).toMatch(type === 'wecom' ? /^### <font color="info">【报告】<\/font>设施健康报告 2026-11-24/ : /^### 【报告】设施健康报告 2026-11-24/);
    expect(lines.slice(1, 4)).toEqual(['> 报告已生成，可在线查看或下载。', '**接收单位**：金佛花园物业服务中心', '**报告**：设施健康报告']);
    expect(lines[4]).toMatch(/^\*\*统计期间\*\*：2026-11-24/);
    expect(lines.slice(5)).toEqual([`- CSV: ${f.csv}`, `- JSON: ${f.json}`, `[查看报告](${f.html})`]);
    if (type === 'dingtalk') expect(title).toMatch(/^【报告】设施健康报告 2026-11-24/);
    expect(md).not.toMatch(/Equipment|Open the report|Period|点击确认/);
  });

  it('keeps the link to a report whole when the message must be cut', async () => {
    const rec = await robot();
    const body = sampleReport();
    const long = `${body.report.formats.html}&pad=${'x'.repeat(200)}`;
    body.department = { ...body.department, name: '很长的单位名称'.repeat(300) };
    body.report = { ...body.report, formats: { ...body.report.formats, html: long } };
    await new WecomSender().send({ ...sampleDelivery({ type: 'wecom', url: rec.url() }), event: 'report.ready', body }, ctx);
    const c = content(rec.received[0]!);
    expect(Buffer.byteLength(c)).toBeLessThanOrEqual(WECOM_MAX_BYTES);
    expect(c.endsWith(`[查看报告](${long})`)).toBe(true);
  });
});
