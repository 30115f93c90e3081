/**
 * The e-mail of a notification: a zh-CN subject, and a plain-text and an HTML body that
 * each say it in zh-CN first, then in en, with the acknowledgement link.
 */
import type { Notification } from '../../types.ts';
import { FIELD_LABELS, LANGS, facts, title, type Lang } from '../render.ts';

export interface EmailContent {
  subject: string;
  text: string;
  html: string;
}

const RULE = '—'.repeat(24);

function colon(lang: Lang): string {
  return lang === 'en' ? ': ' : '：';
}

function textPart(n: Notification, lang: Lang): string {
  const lines = [title(n, lang), '', n.alert.summary[lang], ''];
  for (const f of facts(n, lang)) lines.push(`${f.label}${colon(lang)}${f.value}`);
  if (n.ackUrl) lines.push('', `${FIELD_LABELS.ack[lang]}${colon(lang)}${n.ackUrl}`, FIELD_LABELS.ackHint[lang]);
  return lines.join('\n');
}

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };
export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ESCAPES[c]!);
}

function htmlPart(n: Notification, lang: Lang): string {
  const colourOf = n.event === 'alert.resolved' ? '#1a7f37' : n.alert.severity === 'critical' ? '#c62828' : '#b26a00';
  const rows = facts(n, lang)
    .map((f) => `<tr><th align="left" style="padding:2px 12px 2px 0;color:#555;font-weight:normal">${escapeHtml(f.label)}</th><td>${escapeHtml(f.value)}</td></tr>`)
    .join('\n');
  const ack = n.ackUrl
    ? `<p><a href="${escapeHtml(n.ackUrl)}" style="display:inline-block;padding:6px 14px;background:#1565c0;color:#fff;text-decoration:none;border-radius:4px">${escapeHtml(FIELD_LABELS.ack[lang])}</a> <span style="color:#555">${escapeHtml(FIELD_LABELS.ackHint[lang])}</span></p>`
    : '';
  return [
    `<section lang="${lang}">`,
    `<h2 style="color:${colourOf};font-size:18px">${escapeHtml(title(n, lang))}</h2>`,
    `<p style="font-size:15px">${escapeHtml(n.alert.summary[lang])}</p>`,
    `<table style="border-collapse:collapse;font-size:14px">\n${rows}\n</table>`,
    ack,
    '</section>',
  ].join('\n');
}

export function emailContent(n: Notification): EmailContent {
  const footer = LANGS.map((l) => FIELD_LABELS.footer[l]).join('\n');
  const text = `${LANGS.map((l) => textPart(n, l)).join(`\n\n${RULE}\n\n`)}\n\n--\n${footer}\n`;
  const html = [
    '<!doctype html>',
    '<html><head><meta charset="utf-8"></head>',
    '<body style="font-family:-apple-system,\'PingFang SC\',\'Microsoft YaHei\',sans-serif">',
    LANGS.map((l) => htmlPart(n, l)).join('\n<hr>\n'),
    `<p style="color:#888;font-size:12px">${LANGS.map((l) => escapeHtml(FIELD_LABELS.footer[l])).join('<br>')}</p>`,
    '</body></html>',
  ].join('\n');
  return { subject: title(n, 'zh-CN'), text, html };
}
