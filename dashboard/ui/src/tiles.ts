/**
 * A device tile of the compound view: the device's state colour, its key values with units
 * and the catalog's labels, and when it was last heard from. A tile keeps its own model and
 * writes to the DOM only in `flush()` (once per frame at most, see frame.ts), and then only
 * the texts and classes that changed, so 500 tiles take a stream of readings without jank.
 */
import { METRICS, type Kind } from '../../../config/catalog.ts';
import type { Alert, Device, DeviceState, Severity } from './api.ts';
import { h, LiveText } from './dom.ts';
import { deviceState, metricValue, relativeTime } from './format.ts';
import { kindLabel, lang, metricLabel, t } from './i18n.ts';
import { paths } from './router.ts';

/** What a tile shows of each kind; the device view shows everything. */
export const TILE_METRICS: Record<Kind, readonly string[]> = {
  elevator: ['floor', 'speed_mps', 'door_open', 'service_mode'],
  hydrant: ['pressure_mpa', 'temp_c', 'battery_pct'],
  firelane: ['occupied', 'vehicle_count', 'obstruction_pct'],
  water: ['turbidity_ntu', 'chlorine_mgl', 'ph', 'tank_level_pct'],
};

const templates = new Map<string, HTMLAnchorElement>();

/** The empty tile of a kind, in the current language. */
function template(kind: Kind): HTMLAnchorElement {
  const key = `${lang()}/${kind}`;
  let el = templates.get(key);
  if (!el) {
    el = h(
      'a',
      { class: 'tile', 'data-kind': kind },
      h('div', { class: 'tile-head' }, h('span', { class: 'tile-name' }), h('span', { class: 'tile-kind' }, kindLabel(kind))),
      h('dl', { class: 'tile-values' }, TILE_METRICS[kind].map((m) => h('div', { class: 'kv' }, h('dt', null, metricLabel(kind, m)), h('dd', { 'data-metric': m })))),
      h('div', { class: 'tile-foot' }, h('span', { class: 'tile-state' }), h('span', { class: 'tile-alerts' }), h('span', { class: 'tile-seen', title: t('compound.lastSeen') })),
    );
    templates.set(key, el);
  }
  return el;
}

export const isOpen = (a: Alert) => a.state === 'firing' || a.state === 'acknowledged';

export class DeviceTile {
  readonly el: HTMLAnchorElement;
  readonly device: Device;
  private values: Record<string, number | boolean> = {};
  private online: boolean | null;
  private lastSeen: number | null;
  private readonly open = new Map<string, Severity>();
  private readonly shown = new Map<string, LiveText>();
  private readonly stateText = new LiveText();
  private readonly seenText = new LiveText();
  private readonly alertText = new LiveText();
  private written: DeviceState | '' = '';
  /** near the viewport (an IntersectionObserver of the view sets it); a tile out of sight writes nothing until it comes back */
  private visible = true;
  private stale = false;

  constructor(d: Device, alerts: readonly Alert[]) {
    this.device = d;
    this.online = d.online;
    this.lastSeen = d.lastSeen ? Date.parse(d.lastSeen) : null;
    for (const [m, v] of Object.entries(d.values)) this.values[m] = v.value;
    for (const a of alerts) if (isOpen(a)) this.open.set(a.key, a.severity);
    // Cloned from one template per kind: 500 tiles are built in a few milliseconds.
    this.el = template(d.kind).cloneNode(true) as HTMLAnchorElement;
    this.el.href = paths.device(d.id);
    this.el.dataset.device = d.id;
    this.el.title = d.name ? `${d.name} (${d.id})` : d.id;
    const [head, dl, foot] = this.el.children as unknown as [HTMLElement, HTMLElement, HTMLElement];
    head.firstElementChild!.textContent = d.name ?? d.id;
    TILE_METRICS[d.kind].forEach((m, i) => {
      const text = new LiveText();
      this.shown.set(m, text);
      dl.children[i]!.lastElementChild!.appendChild(text.node);
    });
    foot.children[0]!.appendChild(this.stateText.node);
    foot.children[1]!.appendChild(this.alertText.node);
    foot.children[2]!.appendChild(this.seenText.node);
    this.flush();
  }

  get state(): DeviceState {
    return deviceState(this.open.values(), this.online, this.lastSeen !== null || Object.keys(this.values).length > 0);
  }

  /** A fresh snapshot of the device and its alerts (after each (re)connection). */
  snapshot(d: Device, alerts: readonly Alert[]): void {
    this.online = d.online;
    this.lastSeen = d.lastSeen ? Date.parse(d.lastSeen) : this.lastSeen;
    this.values = {};
    for (const [m, v] of Object.entries(d.values)) this.values[m] = v.value;
    this.open.clear();
    for (const a of alerts) if (isOpen(a)) this.open.set(a.key, a.severity);
  }

  reading(values: Record<string, number | boolean>, now: number): void {
    Object.assign(this.values, values);
    this.lastSeen = now;
  }

  status(online: boolean, now: number): void {
    this.online = online;
    this.lastSeen = now;
  }

  alert(a: Alert): void {
    if (isOpen(a)) this.open.set(a.key, a.severity);
    else this.open.delete(a.key);
  }

  /** Tells the tile whether it can be seen; true when it must write now. */
  seen(visible: boolean): boolean {
    this.visible = visible;
    return visible && this.stale;
  }

  /** Writes what changed. */
  flush(now = Date.now()): void {
    if (!this.visible) {
      this.stale = true;
      return;
    }
    this.stale = false;
    const l = lang();
    const spec = METRICS[this.device.kind];
    for (const [m, text] of this.shown) text.set(metricValue(spec.get(m), this.values[m], l));
    const state = this.state;
    if (state !== this.written) {
      this.written = state;
      this.el.className = `tile state-${state}`;
      this.el.dataset.state = state;
      this.stateText.set(t(`state.${state}`));
    }
    this.alertText.set(this.open.size > 0 ? t('compound.alertCount', { n: this.open.size }) : '');
    this.seenText.set(relativeTime(this.lastSeen, now, l));
  }
}
