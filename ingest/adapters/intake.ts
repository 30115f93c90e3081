/**
 * The adapters' way in (docs/adapters.md): a platform's HTTP push or a vendor's MQTT message
 * is translated by its adapter (one file each) into the messages of docs/interfaces.md's MQTT
 * section, which the ingest pipeline takes as it takes any: decode and validate, de-duplicate,
 * spool, judge. An HTTP push is answered 200 once what it carried is in the spool and judged
 * (its alert changes committed), or refused with its reason in the reject log; an MQTT
 * message's PUBACK waits the same way (the subscriber holds it with the pipeline's turn).
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
import type { AdapterOrigin, Translation } from './types.ts';

/** What an HTTP push is answered. */
export interface PushAnswer {
  status: number;
  body: string;
  contentType?: string;
}

export interface IntakeDeps {
  estate: Estate;
  registry: Registry;
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

  /** Feeds a translation to the pipeline; returns the turn its messages joined. */
  private feed(t: Translation, origin: AdapterOrigin): AckTurn {
    const now = this.now();
    for (const r of t.rejects) this.deps.rejects.add(r, now);
    let turn: AckTurn | undefined;
    for (const m of t.messages) {
      const d = m.device;
      turn = this.deps.pipeline.handle(`estate/${d.site}/${d.kind}/${d.id}/${m.channel}`, Buffer.from(JSON.stringify(m.body)), origin);
    }
    return turn ?? this.deps.pipeline.current();
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
    const turn = this.feed(translate(), origin);
    if (await this.settled(turn)) {
      this.deps.onPush?.(id, type, 'accepted');
      return text(200, 'ok');
    }
    // Not durable (the spool refused): the platform tries again, and the retry must be taken.
    recent.forget(key);
    this.deps.onPush?.(id, type, 'failed');
    return json(503, { error: { code: 'SPOOL_UNAVAILABLE', message: 'the push could not be stored; try again' } });
  }

  // ---- MQTT (ChirpStack, vendors' JSON)

  /** An MQTT message on an adapter's topic: fed; the turn to hold its PUBACK with, or undefined if it is none of the adapters'. */
  mqtt(topic: string, payload: Buffer): AckTurn | undefined {
    for (const m of this.matchers) {
      const matched = m.match(topic);
      if (matched === undefined) continue;
      const raw = payload.toString('utf8');
      const t = m.def.type === 'chirpstack' ? translateChirpstack(m.def, topic, raw, this.sources) : translateMqttJson(m.def, matched, raw, this.sources, this.started);
      return this.feed(t, { adapter: m.def.id, topic, raw });
    }
    return undefined;
  }
}
