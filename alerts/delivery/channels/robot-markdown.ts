/**
 * The markdown message the group robots (WeCom, DingTalk) post, in zh-CN, for any body (an
 * alert, a group, a report: render.ts `message`): the title line, the lead line, the facts
 * (recipient, site, building, device, value and threshold with unit, times in Asia/Shanghai),
 * a group's alerts one per line, and the link (acknowledge, or open the report).
 *
 * The two robots read slightly different markdown: WeCom colours text with
 * `<font color="info|comment|warning">` and breaks lines on "\n"; DingTalk ignores those
 * tags and needs a blank line between lines.
 */
import type { Notification } from '../../types.ts';
import { message, title, truncateUtf8, type Message } from '../render.ts';

export type Flavor = 'wecom' | 'dingtalk';

const LANG = 'zh-CN';

const COLOUR: Record<Message['tone'], 'warning' | 'comment' | 'info'> = { critical: 'warning', warning: 'comment', muted: 'comment', resolved: 'info', info: 'info' };

/** The robot message's markdown, cut to `maxBytes` of UTF-8 (keeping the link whole). */
export function robotMarkdown(n: Notification, flavor: Flavor, maxBytes: number): string {
  const m = message(n, LANG);
  const nl = flavor === 'wecom' ? '\n' : '\n\n';
  const tagText = `【${m.tag}】`;
  const heading = flavor === 'wecom' ? `### <font color="${COLOUR[m.tone]}">${tagText}</font>${m.title.slice(tagText.length)}` : `### ${m.title}`;
  const lines = [heading, `> ${m.lead}`, ...m.facts.map((f) => `**${f.label}**：${f.value}`), ...m.list.map((l) => `- ${l}`)];
  const tail = m.link ? `${nl}[${m.link.label}](${m.link.url})${m.link.hint ? `　${m.link.hint}` : ''}` : '';
  const body = lines.join(nl);
  return truncateUtf8(body, maxBytes - Buffer.byteLength(tail)) + tail;
}

/** DingTalk's `markdown.title`: what its notification preview shows. */
export function robotTitle(n: Notification): string {
  return title(n, LANG);
}
