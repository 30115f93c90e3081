/**
 * The e-mail of a notification (an alert, a group, a report: render.ts `message`): a zh-CN
 * subject, and a plain-text and an HTML body that each say it in zh-CN first, then in en,
 * with the link (acknowledge, or open the report).
 */
import type { Notification } from '../../types.ts';
import { FIELD_LABELS, LANGS, message, title, type Lang, type Message } from '../render.ts';

export interface EmailContent {
  subject: string;
  text: string;
  html: string;
}

const RULE = '—'.repeat(24);

function colon(lang: Lang): string {
  return lang === 'en' ? ': ' : '：';
}

function textPart(m: Message, lang: Lang): string {
  const lines = [m.title, '', m.lead, ''];
  for (const f of m.facts) lines.push(`${f.label}${colon(lang)}${f.value}`);
  if (m.list.length > 0) lines.push('', ...m.list.map((l) => `- ${l}`));
  if (m.link) lines.push('', `${m.link.label}${colon(lang)}${m.link.url}`, ...(m.link.hint ? [m.link.hint] : []));
  return lines.join('\n');
}

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };
export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ESCAPES[c]!);
}

const COLOURS: Record<Message['tone'], string> = { critical: '#c62828', warning: '#b26a00', muted: '#555555', resolved: '#1a7f37', info: '#1565c0' };

function htmlPart(m: Message, lang: Lang): string {
  const rows = m.facts
    .map((f) => `<tr><th align="left" style="padding:2px 12px 2px 0;color:#555;font-weight:normal">${escapeHtml(f.label)}</th><td>${escapeHtml(f.value)}</td></tr>`)
    .join('\n');
  const list = m.list.length > 0 ? `<ul style="font-size:14px">\n${m.list.map((l) => `<li>${escapeHtml(l)}</li>`).join('\n')}\n</ul>` : '';
  const link = m.link
    ? `<p><a href="${escapeHtml(m.link.url)}" style="display:inline-block;padding:6px 14px;background:#1565c0;color:#fff;text-decoration:none;border-radius:4px">${escapeHtml(m.link.label)}</a>${m.link.hint ? ` <span style="color:#555">${escapeHtml(m.link.hint)}</span>` : ''}</p>`
    : '';
  return [
    `<section lang="${lang}">`,
    `<h2 style="color:${COLOURS[m.tone]};font-size:18px">${escapeHtml(m.title)}</h2>`,
    `<p style="font-size:15px">${escapeHtml(m.lead)}</p>`,
    `<table style="border-collapse:collapse;font-size:14px">\n${rows}\n</table>`,
    list,
    link,
    '</section>',
  ]
    .filter((x) => x !== '')
    .join('\n');
}

export function emailContent(n: Notification): EmailContent {
  const footer = LANGS.map((l) => FIELD_LABELS.footer[l]).join('\n');
  const messages = LANGS.map((l) => [l, message(n, l)] as const);
  const text = `${messages.map(([l, m]) => textPart(m, l)).join(`\n\n${RULE}\n\n`)}\n\n--\n${footer}\n`;
  const html = [
    '<!doctype html>',
    '<html><head><meta charset="utf-8"></head>',
    '<body style="font-family:-apple-system,\'PingFang SC\',\'Microsoft YaHei\',sans-serif">',
    messages.map(([l, m]) => htmlPart(m, l)).join('\n<hr>\n'),
    `<p style="color:#888;font-size:12px">${LANGS.map((l) => escapeHtml(FIELD_LABELS.footer[l])).join('<br>')}</p>`,
    '</body></html>',
  ].join('\n');
  return { subject: title(n, 'zh-CN'), text, html };
}
