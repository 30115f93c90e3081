/**
 * The whole service with an adapter of each type, for the end-to-end tests of test/adapters/:
 * a real Mosquitto (the service's broker, where ChirpStack and the vendor gateway publish), a
 * real influxd, webhook receivers for the departments and the property company, and the
 * service in-process, all on 127.0.0.1. `stop()` ends every one of them.
 */
import { parseEstate } from '../../config/index.ts';
import { Receiver, type Received } from '../../alerts/delivery/testing/receiver.ts';
import { startInfluxd, type Influxd } from '../harness/influxd.ts';
import { startMosquitto, type Mosquitto } from '../harness/mosquitto.ts';
import { startService, type TestService } from '../harness/service.ts';
import { waitFor } from '../harness/ports.ts';
import { ONENET_AES_KEY, ONENET_TOKEN } from './vendor.ts';

export const ADMIN = { authorization: 'Bearer demo-admin' };
export const CTWING_SECRET = 'ctw-Secret_0123456789abcdef';
export const LORA_APP = '5d3c0b7e-9a41-4c1f-8e0b-2f4b6c1d7a90';

/** The estate: one site, an adapter of each type, a device or two behind each. */
export function adapterEstateYaml(hook: (path: string) => string, o: { ownLoraBroker?: string } = {}): string {
  const to = (path: string) => `[ { type: webhook, url: "${hook(path)}" } ]`;
  return `
adapters:
  - { id: cmcc, type: onenet, token: "${ONENET_TOKEN}", aesKey: "${ONENET_AES_KEY}" }
  - { id: ctw, type: ctwing, secret: "${CTWING_SECRET}" }
  - { id: lora, type: chirpstack, application: "${LORA_APP}" }
  - { id: lift-gw, type: mqtt-json, topic: "lift/+id/report" }
${o.ownLoraBroker ? `  - { id: lora-own, type: chirpstack, application: "own-app", mqtt: "${o.ownLoraBroker}" }\n` : ''}profiles:
  nb-hydrant-x:
    kind: hydrant
    metrics: { pressure: { metric: pressure_mpa, scale: 0.001 }, bat: battery_pct }
    events: { leakAlarm: leak }
  water-analyser:
    kind: water
    codec: water-quality-v1
    metrics: { turbidity: turbidity_ntu, chlorine: chlorine_mgl, ph: ph, battery: battery_pct }
  nb-hydrant-binary:
    kind: hydrant
    codec: hydrant-pressure-v1
    metrics: { pressure_kpa: { metric: pressure_mpa, scale: 0.001 }, battery: battery_pct, tamper: tamper, leak: leak }
    events: { tamperAlarm: tamper }
  lora-lane:
    kind: firelane
    metrics: { occupied: occupied, vehicles: vehicle_count, obstruction: obstruction_pct }
  lift-vendor-a:
    kind: elevator
    metrics: { car.floor: floor, car.speed: speed_mps, car.door: door_open }
    eventField: fault.code
    events: { "01": overspeed, "02": trapped, "08": door_open_moving }
sites:
  - id: garden
    name: 金佛花园
    property: { name: 渝南物业, channels: ${to('/property')} }
    maintainer: { name: 蓝盾维保, channels: ${to('/maintainer')} }
    devices:
      - { id: HY-07, kind: hydrant, building: "7栋", intervalSec: 86400, source: { adapter: cmcc, id: "592310945" }, profile: nb-hydrant-x }
      - { id: HY-08, kind: hydrant, building: "8栋", intervalSec: 86400, source: { adapter: cmcc, id: "592310946" }, profile: nb-hydrant-x }
      - { id: HY-09, kind: hydrant, building: "9栋", intervalSec: 86400, source: { adapter: cmcc, id: "592310947" }, profile: nb-hydrant-x }
      - { id: WQ-1, kind: water, building: "二次供水泵房", intervalSec: 86400, source: { adapter: ctw, id: "a1b2c3d4e5f64a2b8e1d1b2c3d4e5f6a" }, profile: water-analyser }
      - { id: HY-C1, kind: hydrant, building: "1栋", intervalSec: 86400, source: { adapter: ctw, id: "869975031234567" }, profile: nb-hydrant-binary }
      - { id: WQ-2, kind: water, building: "3栋屋顶水箱", intervalSec: 86400, source: { adapter: ctw, id: "f00dfeed00000000000000000000000b" } }
      - { id: FL-L1, kind: firelane, building: "东侧消防通道", intervalSec: 86400, source: { adapter: lora, id: "a840414b71846c1f" }, profile: lora-lane }
${o.ownLoraBroker ? '      - { id: FL-L2, kind: firelane, building: "西侧消防通道", intervalSec: 86400, source: { adapter: lora-own, id: "a840414b71846c20" }, profile: lora-lane }\n' : ''}      - { id: EL-9, kind: elevator, building: "9栋", intervalSec: 86400, source: { adapter: lift-gw, id: "LX-0009" }, profile: lift-vendor-a }
departments:
  - { id: fire-rescue, name: 区消防救援支队, channels: ${to('/fire')} }
  - { id: market-supervision, name: 区市场监管局, channels: ${to('/market')} }
  - { id: health-commission, name: 区卫生健康委, channels: ${to('/health')} }
  - { id: water-authority, name: 区水务局, channels: ${to('/water')} }
  - { id: housing, name: 区住房城乡建委, channels: ${to('/housing')} }
auth:
  tokens:
    - { name: admin, role: admin, sha256: cce7a2cf1ae045989cfc914fb95a41526f167a838b3c7d33745143614abace7c }
`;
}

export interface Rig {
  influx: Influxd;
  broker: Mosquitto;
  /** ChirpStack's own broker, when asked for */
  loraBroker?: Mosquitto;
  svc: TestService;
  rx: Receiver;
  db: string;
  url: string;
  stop(): Promise<void>;
}

export async function startRig(name: string, o: { ownLoraBroker?: boolean; env?: Record<string, string>; /** another estate than adapterEstateYaml's */ yaml?: (hook: (path: string) => string) => string } = {}): Promise<Rig> {
  const rx = new Receiver();
  await rx.listen();
  // Whatever started is stopped again if a later part fails: a failed start leaves no process behind.
  const started = await Promise.allSettled([startInfluxd(), startMosquitto({ durable: true }), o.ownLoraBroker ? startMosquitto() : Promise.resolve(undefined)]);
  const stopParts = async () => {
    await rx.close();
    await Promise.all(started.map((p) => (p.status === 'fulfilled' ? p.value?.destroy() : undefined)));
  };
  const failed = started.find((p) => p.status === 'rejected');
  if (failed) {
    await stopParts();
    throw (failed as PromiseRejectedResult).reason;
  }
  const [influx, broker, loraBroker] = started.map((p) => (p as PromiseFulfilledResult<unknown>).value) as [Influxd, Mosquitto, Mosquitto | undefined];
  const db = `${name}_${process.pid}`;
  let svc: TestService;
  try {
    const estate = parseEstate(o.yaml ? o.yaml((p) => rx.url(p)) : adapterEstateYaml((p) => rx.url(p), loraBroker ? { ownLoraBroker: loraBroker.url } : {}), `${name}.yaml`, {});
    svc = await startService({ estate, env: { MQTT_URL: broker.url, INFLUX_URL: influx.url, INFLUX_DB: db, ...o.env } });
  } catch (err) {
    await stopParts();
    throw err;
  }
  return {
    influx,
    broker,
    ...(loraBroker ? { loraBroker } : {}),
    svc,
    rx,
    db,
    url: svc.url,
    async stop() {
      await svc.stop().catch(() => undefined);
      await stopParts();
    },
  };
}

// ---- reading what the service did

export interface RejectItem {
  at: string;
  reason: string;
  topic: string;
  detail: string;
  payload: string;
}

export async function rejects(rig: Rig): Promise<RejectItem[]> {
  const r = await fetch(`${rig.url}/api/ingest/rejects?limit=1000`, { headers: ADMIN });
  if (r.status !== 200) throw new Error(`GET /api/ingest/rejects: ${r.status}`);
  return ((await r.json()) as { items: RejectItem[] }).items;
}

/** The rows of an InfluxQL query (epoch ms) as objects keyed by column, [] when none. */
export async function rows(rig: Pick<Rig, 'influx' | 'db'>, q: string): Promise<Record<string, unknown>[]> {
  const r = (await rig.influx.query(q, rig.db)) as { results?: { series?: { columns: string[]; values: unknown[][] }[]; error?: string }[] };
  const res = r.results?.[0];
  if (res?.error && !/database not found/.test(res.error)) throw new Error(res.error);
  const s = res?.series?.[0];
  if (!s) return [];
  return s.values.map((v) => Object.fromEntries(s.columns.map((c, i) => [c, v[i]])));
}

/** Waits until the query gives at least `n` rows; returns them. */
export function rowsAtLeast(rig: Pick<Rig, 'influx' | 'db'>, q: string, n = 1, timeoutMs = 10_000): Promise<Record<string, unknown>[]> {
  return waitFor(`${n} row(s) of ${q}`, async () => {
    const r = await rows(rig, q);
    return r.length >= n ? r : undefined;
  }, timeoutMs);
}

export async function metricsText(rig: Pick<Rig, 'url'>): Promise<string> {
  return (await fetch(`${rig.url}/metrics`, { headers: ADMIN })).text();
}

export interface AlertItem {
  id: string;
  device: string;
  rule: string;
  severity: string;
  state: string;
  departments?: string[];
  offline?: boolean;
}

export async function alerts(rig: Rig, state: 'active' | 'all' = 'all'): Promise<AlertItem[]> {
  const r = await fetch(`${rig.url}/api/alerts?state=${state}&limit=1000`, { headers: ADMIN });
  return ((await r.json()) as { items: AlertItem[] }).items;
}

export async function deviceJson(rig: Rig, id: string): Promise<{ online: boolean | null; lastSeen: string | null; values: Record<string, { value: number | boolean; at: string }> }> {
  const r = await fetch(`${rig.url}/api/devices/${id}`, { headers: ADMIN });
  if (r.status !== 200) throw new Error(`GET /api/devices/${id}: ${r.status}`);
  return r.json() as never;
}

type Delivery = { event: string; department: { id: string }; alert?: { device: string; rule: string; severity: string; state: string } };
/** The deliveries a receiver path got about a device. */
export function delivered(rig: Rig, path: string, device: string): Delivery[] {
  return rig.rx.received.filter((r: Received) => r.url === path && (r.json as Delivery | undefined)?.alert?.device === device).map((r) => r.json as Delivery);
}

export const post = (url: string, body: string, headers: Record<string, string> = { 'content-type': 'application/json' }) => fetch(url, { method: 'POST', body, headers });
