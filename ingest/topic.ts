/** `estate/{site}/{kind}/{device}/{channel}` (docs/interfaces.md#topics). */
import { DEVICE_ID, SITE_ID, isKind, isTopicChannel, type Kind, type TopicChannel } from '../config/index.ts';

export interface Topic {
  site: string;
  kind: Kind;
  device: string;
  channel: TopicChannel;
}

/** The parsed topic, or a sentence saying what is wrong with it. */
export function parseTopic(topic: string): Topic | string {
  const parts = topic.split('/');
  if (parts.length !== 5 || parts[0] !== 'estate') return 'expected estate/{site}/{kind}/{device}/{channel}';
  const [, site, kind, device, channel] = parts as [string, string, string, string, string];
  if (!SITE_ID.test(site)) return `site "${site}" must match [a-z0-9][a-z0-9-]{0,63}`;
  if (!isKind(kind)) return `unknown kind "${kind}"`;
  if (!DEVICE_ID.test(device)) return `device "${device}" must match [A-Za-z0-9][A-Za-z0-9_.-]{0,63}`;
  if (!isTopicChannel(channel)) return `unknown channel "${channel}"`;
  return { site, kind, device, channel };
}

/**
 * True for a topic of the form `estate/+/+/+/event`, what the events session subscribes to
 * (ingest/subscribers.ts): exactly five levels, the last `event`. Such a topic may still be
 * refused (an unknown kind, device or site); it is refused by the session that takes it.
 */
export function isEventTopic(topic: string): boolean {
  if (!topic.startsWith('estate/') || !topic.endsWith('/event')) return false;
  let slashes = 0;
  for (let i = 7; i < topic.length; i++) if (topic.charCodeAt(i) === 47) slashes++;
  return slashes === 3;
}
