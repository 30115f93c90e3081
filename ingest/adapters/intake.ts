/**
 * The adapters' way in (docs/adapters.md): a platform's HTTP push or a vendor's MQTT message
 * is translated by its adapter (one file each) into the messages of docs/interfaces.md's MQTT
 * section, which the ingest pipeline takes as it takes any: decode and validate, de-duplicate,
 * spool, judge. An HTTP push is answered 200 once what it carried is in the spool and judged
 * (its alert changes committed), or refused with its reason in the reject log; an MQTT
 * message's PUBACK waits the same way (the subscriber holds it with the pipeline's turn).
 *
 * Under SHARD (docs/scaling.md) the devices are looked up in the whole estate. A platform
 * pushes every device's data to one URL, whichever instance takes it: what a push carries
 * for another shard's site is published on the shared broker under that site's topics (QoS
 * 1), where its owner takes it as any device's message, and the push is answered once the
 * broker has it. An MQTT adapter's topic reaches every shard: each takes its own sites' devices
 * and leaves the others' to them; a device in no shard's site is refused by the instance that
 * takes the strays only, as estate/# strays are.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { AdapterDef, Estate, Registry } from '../../config/index.ts';
import type { AckTurn, IngestPipeline } from '../pipeline.ts';
import type { RejectLog } from '../rejects.ts';
import { translateCtwing, type CtwingDef } from './ctwing.ts';
import { translateChirpstack, type ChirpstackDef } from './chirpstack.ts';
import { translateMqttJson, type MqttJsonDef, type StartedEvents, topicMatcher } from './mqtt-json.ts';
import { OnenetError, openPush, translateOnenet, verifyUrl, type OnenetDef } from './onenet.ts';
import { RecentPushes } from './recent.ts';
import { SourceIndex } from './sources.ts';
import type { AdapterOrigin, SourceMessage, Translation } from './types.ts';

/** What an HTTP push is answered. */
export interface PushAnswer {
  status: number;
  body: string;
  contentType?: string;
}

export interface IntakeDeps {
  /** the whole estate file, every shard's sites (the adapters' devices are found in it) */
  estate: Estate;
  registry: Registry;
  /** whether a site is this instance's (SHARD); unset: every site is */
  owns?: (site: string) => boolean;
  /** whether this instance refuses what is about no known device (SHARD: the strays' instance only); default true */
  takesStrays?: boolean;
  /** publishes a message for another shard's site on the shared broker; true once the broker acknowledged it */
  forward?: (topic: string, payload: Buffer) => Promise<boolean>;
  /** messages of a push forwarded to their shard, by adapter */
  onForward?: (adapter: string, messages: number) => void;
  pipeline: Pick<IngestPipeline, 'handle' | 'current' | 'spoolFull'>;
  rejects: Pick<RejectLog, 'add'>;
  /** a push refused for its authentication (counted in /metrics, logged at most once a minute per adapter) */
  onAuthFailure?: (adapter: string, type: string, why: string) => void;
  /** every push, by adapter and outcome (accepted, duplicate, refused, failed) */
  onPush?: (adapter: string, type: string, outcome: 'accepted' | 'duplicate' | 'unauthorized' | 'bad_request' | 'failed' | 'unknown_adapter') => void;
  now?: () => number;
}

/** An MQTT subscription an adapter needs: a topic filter, on the service's broker or its own. */
export interface AdapterSubscription {
  adapter: string;
  filter: string;
  /** the adapter's own broker; undefined: the service's */
  mqtt?: { url: string; username?: string; password?: string };
}

/** The topic a device speaking docs/interfaces.md's MQTT would have sent a message on. */
const topicOf = (m: SourceMessage): string => `estate/${m.device.site}/${m.device.kind}/${m.device.id}/${m.channel}`;

const text = (status: number, body: string): PushAnswer => ({ status, body, contentType: 'text/plain; charset=utf-8' });
const json = (status: number, body: unknown): PushAnswer => ({ status, body: JSON.stringify(body), contentType: 'application/json' });

export class AdapterIntake {
  readonly sources: SourceIndex;
  private readonly defs = new Map<string, AdapterDef>();
  private readonly recent = new Map<string, RecentPushes>();
  private readonly matchers: { def: MqttJsonDef | ChirpstackDef; match: (topic: string) => string | undefined }[] = [];
  private readonly started: StartedEvents = new Map();
  private readonly now: () => number;

  constructor(private readonly deps: IntakeDeps) {
    this.now = deps.now ?? Date.now;
    this.sources = new SourceIndex(deps.estate, deps.registry);
    for (const a of deps.estate.adapters) {
      this.defs.set(a.id, a);
      this.recent.set(a.id, new RecentPushes());
      if (a.type === 'mqtt-json') this.matchers.push({ def: a, match: topicMatcher(a.topic) });
      if (a.type === 'chirpstack') {
        const prefix = `application/${a.application}/device/`;
        this.matchers.push({ def: a, match: (t) => (t.startsWith(prefix) ? t : undefined) });
      }
    }
  }

  /** The MQTT filters the adapters need. */
  subscriptions(): AdapterSubscription[] {
    const out: AdapterSubscription[] = [];
    for (const a of this.defs.values()) {
      const own = 'mqtt' in a && a.mqtt ? { url: a.mqtt, ...(a.username ? { username: a.username } : {}), ...(a.password ? { password: a.password } : {}) } : undefined;
      if (a.type === 'chirpstack') out.push({ adapter: a.id, filter: `application/${a.application}/device/+/event/+`, ...(own ? { mqtt: own } : {}) });
      if (a.type === 'mqtt-json') out.push({ adapter: a.id, filter: a.topic.split('/').map((l) => (l === '+id' ? '+' : l)).join('/'), ...(own ? { mqtt: own } : {}) });
    }
    return out;
  }

  /** Feeds a translation's own messages to the pipeline; returns the turn they joined and the messages of other shards' sites. */
  private feed(t: Translation, origin: AdapterOrigin, heardByAll: boolean): { turn: AckTurn; foreign: SourceMessage[] } {
    const now = this.now();
    const owns = this.deps.owns;
    // A push reached this instance alone: its refusals are recorded here. An MQTT adapter's
    // message reaches every shard: its device's owner records them, or, for no known device,
    // the instance that takes the strays.
    const records = !heardByAll || !owns || (t.device ? owns(t.device.site) : (this.deps.takesStrays ?? true));
    if (records) for (const r of t.rejects) this.deps.rejects.add(r, now);
    let turn: AckTurn | undefined;
    const foreign: SourceMessage[] = [];
    for (const m of t.messages) {
      if (owns && !owns(m.device.site)) {
        foreign.push(m);
        continue;
      }
      turn = this.deps.pipeline.handle(topicOf(m), Buffer.from(JSON.stringify(m.body)), origin);
    }
    return { turn: turn ?? this.deps.pipeline.current(), foreign };
  }

  /** Publishes other shards' messages to their owners through the broker; true once the broker has every one. */
  private async forward(adapter: string, messages: SourceMessage[]): Promise<boolean> {
    if (messages.length === 0) return true;
    const forward = this.deps.forward;
    if (!forward) return false;
    const acked = await Promise.all(messages.map((m) => forward(topicOf(m), Buffer.from(JSON.stringify(m.body)))));
    this.deps.onForward?.(adapter, acked.filter(Boolean).length);
    return acked.every(Boolean);
  }

  /** Waits for a turn: true once durable and judged, false if it could not be made durable. */
  private settled(turn: AckTurn): Promise<boolean> {
    return new Promise((resolve) => {
      turn.onSettled(() => resolve(true));
      turn.onAborted(() => resolve(false));
    });
  }

  private def<T extends AdapterDef['type']>(id: string, type: T): Extract<AdapterDef, { type: T }> | undefined {
    const a = this.defs.get(id);
    return a && a.type === type ? (a as Extract<AdapterDef, { type: T }>) : undefined;
  }

  // ---- OneNET

  onenetVerify(id: string, q: { msg?: string; nonce?: string; signature?: string }): PushAnswer {
    const def = this.def(id, 'onenet');
    if (!def) return json(404, { error: { code: 'NOT_FOUND', message: `no OneNET adapter ${id}` } });
    if (q.msg === undefined || !q.nonce || !q.signature || !verifyUrl(def, q.msg, q.nonce, q.signature)) {
      this.deps.onAuthFailure?.(id, 'onenet', 'URL verification with a wrong signature');
      return json(401, { error: { code: 'UNAUTHENTICATED', message: 'the signature is not OneNET\'s for this adapter\'s token' } });
    }
    return text(200, q.msg);
  }

  async onenetPush(id: string, raw: string): Promise<PushAnswer> {
    const def = this.def(id, 'onenet') as OnenetDef | undefined;
    if (!def) return this.unknown(id);
    let opened: { text: string; key: string };
    try {
      opened = openPush(def, raw);
    } catch (e) {
      if (e instanceof OnenetError && e.status === 401) {
        this.deps.onAuthFailure?.(id, 'onenet', e.message);
        this.deps.onPush?.(id, 'onenet', 'unauthorized');
        return json(401, { error: { code: 'UNAUTHENTICATED', message: e.message } });
      }
      // Signed but malformed: refused with its reason, and answered 200 (a retry would not mend it).
      this.deps.rejects.add({ reason: 'bad_payload', topic: `onenet/${id}`, detail: `adapter ${id}: ${(e as Error).message}`, payload: raw.slice(0, 16384) }, this.now());
      this.deps.onPush?.(id, 'onenet', 'bad_request');
      return text(200, 'refused');
    }
    return this.take(id, 'onenet', opened.key, () => translateOnenet(def, opened.text, this.sources), { adapter: id, topic: `onenet/${id}`, raw: opened.text });
  }

  // ---- CTWing

  async ctwingPush(id: string, secret: string, raw: string): Promise<PushAnswer> {
    const def = this.def(id, 'ctwing') as CtwingDef | undefined;
    if (!def) return this.unknown(id);
    const a = Buffer.from(secret);
    const b = Buffer.from(def.secret);
    if (a.length !== b.length || !timingSafeEqual(a, b)) {
      this.deps.onAuthFailure?.(id, 'ctwing', 'a wrong secret in the push URL');
      this.deps.onPush?.(id, 'ctwing', 'unauthorized');
      return json(401, { error: { code: 'UNAUTHENTICATED', message: 'not this adapter\'s push URL' } });
    }
    const key = createHash('sha1').update(raw).digest('base64');
    return this.take(id, 'ctwing', key, () => translateCtwing(def, raw, this.sources), { adapter: id, topic: `ctwing/${id}`, raw });
  }

  private unknown(id: string): PushAnswer {
    this.deps.onPush?.(id, 'unknown', 'unknown_adapter');
    return json(404, { error: { code: 'NOT_FOUND', message: `no adapter ${id}` } });
  }

  /** A push authenticated: taken once (its retries are answered at once), fed, answered once settled. */
  private async take(id: string, type: string, key: string, translate: () => Translation, origin: AdapterOrigin): Promise<PushAnswer> {
    const recent = this.recent.get(id)!;
    // At the spool's cap ingest takes nothing more (MQTT acknowledgements are held back the same
    // way): refused, so that the platform sends it again once the store is back and the spool drained.
    if (this.deps.pipeline.spoolFull) {
      this.deps.onPush?.(id, type, 'failed');
      return json(503, { error: { code: 'SPOOL_UNAVAILABLE', message: 'the spool is at its size cap (the series store is away); try again' } });
    }
    if (recent.seenBefore(key, this.now())) {
      this.deps.onPush?.(id, type, 'duplicate');
      return text(200, 'ok');
    }
    const { turn, foreign } = this.feed(translate(), origin, false);
    const [settled, forwarded] = await Promise.all([this.settled(turn), this.forward(id, foreign)]);
    if (settled && forwarded) {
      this.deps.onPush?.(id, type, 'accepted');
      return text(200, 'ok');
    }
    // Not durable (the spool refused, or the broker did not take another shard's part): the
    // platform tries again, and the retry must be taken (a part taken already comes again as the
    // same readings at the same times: one point each in InfluxDB, no new alert).
    recent.forget(key);
    this.deps.onPush?.(id, type, 'failed');
    const message = settled ? "part of the push is another shard's, and the broker did not take it; try again" : 'the push could not be stored; try again';
    return json(503, { error: { code: 'SPOOL_UNAVAILABLE', message } });
  }

  // ---- MQTT (ChirpStack, vendors' JSON)

  /** An MQTT message on an adapter's topic: fed; the turn to hold its PUBACK with, or undefined if it is none of the adapters'. */
  mqtt(topic: string, payload: Buffer): AckTurn | undefined {
    for (const m of this.matchers) {
      const matched = m.match(topic);
      if (matched === undefined) continue;
      const raw = payload.toString('utf8');
      const t = m.def.type === 'chirpstack' ? translateChirpstack(m.def, topic, raw, this.sources) : translateMqttJson(m.def, matched, raw, this.sources, this.started);
      // Another shard's device: its owner hears the same topic and takes it.
      return this.feed(t, { adapter: m.def.id, topic, raw }, true).turn;
    }
    return undefined;
  }
}
