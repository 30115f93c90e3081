/**
 * The markdown message the group robots (WeCom, DingTalk) post, in zh-CN: the title line with
 * event and severity, the summary, the facts (recipient, site, building, device, value and
 * threshold with unit, times in Asia/Shanghai) and the acknowledgement link.
 *
 * The two robots read slightly different markdown: WeCom colours text with
 * `<font color="info|comment|warning">` and breaks lines on "\n"; DingTalk ignores those
 * tags and needs a blank line between lines.
 */
import type { Notification } from '../../types.ts';
import { FIELD_LABELS, facts, tag, title, truncateUtf8 } from '../render.ts';

export type Flavor = 'wecom' | 'dingtalk';

const LANG = 'zh-CN';

function colour(n: Notification): 'warning' | 'comment' | 'info' {
  if (n.event === 'alert.resolved') return 'info';
  if (n.event === 'alert.acknowledged') return 'comment';
  return n.alert.severity === 'critical' ? 'warning' : 'comment';
}

/** The robot message's markdown, cut to `maxBytes` of UTF-8 (keeping the ack link whole). */
export function robotMarkdown(n: Notification, flavor: Flavor, maxBytes: number): string {
  const nl = flavor === 'wecom' ? '\n' : '\n\n';
  const head = title(n, LANG);
  const tagText = `【${tag(n, LANG)}】`;
  const heading =
    flavor === 'wecom' ? `### <font color="${colour(n)}">${tagText}</font>${head.slice(tagText.length)}` : `### ${head}`;
  const lines = [heading, `> ${n.alert.summary[LANG]}`, ...facts(n, LANG).map((f) => `**${f.label}**：${f.value}`)];
  const tail = n.ackUrl ? `${nl}[${FIELD_LABELS.ack[LANG]}](${n.ackUrl})　${FIELD_LABELS.ackHint[LANG]}` : '';
  const body = lines.join(nl);
  return truncateUtf8(body, maxBytes - Buffer.byteLength(tail)) + tail;
}

/** DingTalk's `markdown.title`: what its notification preview shows. */
export function robotTitle(n: Notification): string {
  return title(n, LANG);
}
