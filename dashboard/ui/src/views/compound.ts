/**
 * A compound: its buildings and a tile per device with live values, state colours and when
 * each was last heard. Live events touch only the tiles they name; each touched tile writes
 * itself once in the next animation frame (tiles.ts, frame.ts). A site's outage (kind
 * `site`: many of its devices dark at once) belongs to no tile: it is shown above them.
 */
import { KINDS } from '../../../../config/catalog.ts';
import type { Alert, Device, DeviceState, Site } from '../api.ts';
import { fill, h, LiveText } from '../dom.ts';
import { byBuilding } from '../format.ts';
import { mark, unmark, type Flushable } from '../frame.ts';
import { kindLabel, lang, t } from '../i18n.ts';
import { Live } from '../live.ts';
import { DeviceTile } from '../tiles.ts';
import { errorBox, loading, localLabel, severityBadge, type View, type ViewContext } from './common.ts';

const STATES: readonly DeviceState[] = ['critical', 'warning', 'offline', 'unknown', 'ok'];

/** The tiles' size in style.css, for estimates of a building's size before it is drawn. */
const TILE_WIDTH = 200;
const TILE_HEIGHT = 132;
const TILE_GAP = 10;
const HEADING_HEIGHT = 52;

/** The first screenful now, the rest a frame at a time: the first layout of 500 tiles at once blocks for a few hundred ms. */
const TILES_PER_FRAME = 60;
function appendByFrames(parent: HTMLElement, sections: HTMLElement[]): void {
  let i = 0;
  const step = () => {
    let n = 0;
    while (i < sections.length && n < TILES_PER_FRAME) {
      n += sections[i]!.querySelectorAll('.tile').length;
      parent.appendChild(sections[i++]!);
    }
    if (i < sections.length && parent.isConnected) requestAnimationFrame(step);
  };
  step();
}

function groupByDevice(alerts: readonly Alert[]): Map<string, Alert[]> {
  const out = new Map<string, Alert[]>();
  for (const a of alerts) {
    const list = out.get(a.device);
    if (list) list.push(a);
    else out.set(a.device, [a]);
  }
  return out;
}

export function compoundView(root: HTMLElement, ctx: ViewContext, site: string): View {
  const title = h('h1', null, site);
  const sub = h('p', { class: 'muted' });
  const counts = h('ul', { class: 'counts' });
  const body = h('div', null, loading());
  const outagesBox = h('div', { class: 'site-outages', 'data-testid': 'site-outages' });
  fill(root, h('div', { class: 'view-head' }, h('div', null, title, sub), counts), outagesBox, body);
  // The site's own active alerts (its outage), by id.
  const outages = new Map<string, Alert>();
  const showOutages = () =>
    fill(
      outagesBox,
      [...outages.values()].map((a) =>
        h('p', { class: 'notice site-outage', 'data-alert': a.id, title: a.devices?.join(', ') ?? '' }, severityBadge(a.severity), ' ', a.summary[lang()], a.devices?.length ? ` · ${t('alerts.siteDevices', { n: a.devices.length })}` : ''),
      ),
    );
  const setOutages = (list: readonly Alert[]) => {
    outages.clear();
    for (const a of list) if (a.kind === 'site') outages.set(a.id, a);
    showOutages();
  };
  const outage = (a: Alert) => {
    if (a.kind !== 'site') return;
    if (a.state === 'firing' || a.state === 'acknowledged') outages.set(a.id, a);
    else outages.delete(a.id);
    showOutages();
  };
  ctx.setTitle(site);
  const tiles = new Map<string, DeviceTile>();
  const countTexts = new Map<DeviceState, LiveText>();
  let live: Live | undefined;
  let ticker: ReturnType<typeof setInterval> | undefined;
  let gone = false;

  // The counts by state, recounted at most once a frame when a tile changed.
  const header: Flushable = {
    flush() {
      const n = { ok: 0, warning: 0, critical: 0, offline: 0, unknown: 0 };
      for (const tile of tiles.values()) n[tile.state]++;
      for (const [s, text] of countTexts) text.set(String(n[s]));
    },
  };
  // Only tiles near the viewport spend time on writes; one coming into view catches up at once.
  const byElement = new Map<Element, DeviceTile>();
  const sight = new IntersectionObserver(
    (entries) => {
      for (const e of entries) {
        const tile = byElement.get(e.target);
        if (tile?.seen(e.isIntersecting)) mark(tile);
      }
    },
    { rootMargin: '300px 0px' },
  );
  const touch = (tile: DeviceTile) => {
    mark(tile);
    mark(header);
  };

  async function load(): Promise<void> {
    try {
      const [sites, devices, alerts] = await Promise.all([
        ctx.session.api.get<{ items: Site[] }>('/api/sites'),
        ctx.session.api.get<{ items: Device[] }>(`/api/devices?site=${encodeURIComponent(site)}`),
        ctx.session.api.get<{ items: Alert[] }>(`/api/alerts?state=active&limit=1000&site=${encodeURIComponent(site)}`),
      ]);
      if (gone) return;
      const s = sites.items.find((x) => x.id === site);
      render(s, devices.items, alerts.items);
      startLive();
    } catch (err) {
      if (!gone) fill(body, errorBox(err, () => void load()));
    }
  }

  function render(s: Site | undefined, devices: Device[], alerts: Alert[]): void {
    const name = s?.name ?? devices[0]?.siteName ?? site;
    title.textContent = name;
    ctx.setTitle(name);
    sub.textContent = [s?.district, s?.address, s ? localLabel(s) : null, t('compound.devices', { n: devices.length })].filter(Boolean).join(' · ');
    fill(
      counts,
      STATES.map((st) => {
        const text = new LiveText();
        countTexts.set(st, text);
        return h('li', { class: `count state-${st}`, 'data-state': st }, h('span', { class: 'dot' }), t(`state.${st}`), ' ', h('b', null, text.node));
      }),
    );
    setOutages(alerts);
    if (devices.length === 0) {
      fill(body, h('p', { class: 'notice' }, t('compound.empty')));
      return;
    }
    const byDevice = groupByDevice(alerts);
    const buildings = new Map<string, Device[]>();
    for (const d of devices) {
      const list = buildings.get(d.building);
      if (list) list.push(d);
      else buildings.set(d.building, [d]);
    }
    const grid = h('div', { class: 'buildings' });
    const present = KINDS.filter((k) => devices.some((d) => d.kind === k));
    const chips = h('div', { class: 'chips', role: 'group' });
    const choose = (kind: string) => {
      grid.dataset.filter = kind;
      for (const c of chips.children) c.setAttribute('aria-pressed', String((c as HTMLElement).dataset.kind === kind));
    };
    fill(chips, ['', ...present].map((k) => h('button', { type: 'button', class: 'chip', 'data-kind': k, 'aria-pressed': String(k === ''), onclick: () => choose(k) }, k ? kindLabel(k) : t('compound.kindAll'))));
    const sections: HTMLElement[] = [];
    const perRow = Math.max(1, Math.floor((root.clientWidth + TILE_GAP) / (TILE_WIDTH + TILE_GAP)));
    for (const b of [...buildings.keys()].sort(byBuilding)) {
      const list = buildings.get(b)!;
      const wrap = h('div', { class: 'tiles' });
      for (const d of list) {
        const tile = new DeviceTile(d, byDevice.get(d.id) ?? []);
        tiles.set(d.id, tile);
        byElement.set(tile.el, tile);
        sight.observe(tile.el);
        wrap.appendChild(tile.el);
      }
      const section = h(
        'section',
        { class: 'building', 'data-kinds': [...new Set(list.map((d) => d.kind))].join(' ') },
        h('h2', null, b, ' ', h('span', { class: 'muted small' }, t('compound.devices', { n: list.length }))),
        wrap,
      );
      // Its size until it is first drawn (content-visibility): close to the real one, so that the page does not jump when scrolled.
      const rows = Math.ceil(list.length / perRow);
      section.style.containIntrinsicSize = `auto ${Math.min(list.length, perRow) * (TILE_WIDTH + TILE_GAP)}px auto ${HEADING_HEIGHT + rows * (TILE_HEIGHT + TILE_GAP)}px`;
      sections.push(section);
    }
    fill(body, present.length > 1 ? chips : null, grid);
    appendByFrames(grid, sections);
    header.flush();
    // "3 分钟前" ages without events: every tile rewrites its time (only if the text changed) every 10 s.
    ticker = setInterval(() => {
      for (const tile of tiles.values()) mark(tile);
    }, 10_000);
  }

  function startLive(): void {
    live = new Live(ctx.session.token, [site], {
      state: (s) => ctx.setLive(s),
      unauthorized: () => ctx.signOut(true),
      snapshot: (snap) => {
        setOutages(snap.alerts);
        const byDevice = groupByDevice(snap.alerts);
        for (const d of snap.devices) {
          const tile = tiles.get(d.id);
          if (!tile) continue;
          tile.snapshot(d, byDevice.get(d.id) ?? []);
          touch(tile);
        }
      },
      reading: (r) => {
        const now = Date.now();
        for (const item of r.items) {
          const tile = tiles.get(item.device);
          if (!tile) continue;
          tile.reading(item.values, now);
          touch(tile);
        }
      },
      status: (s) => {
        const tile = tiles.get(s.device);
        if (!tile) return;
        tile.status(s.online, Date.now());
        touch(tile);
      },
      alert: (e) => {
        outage(e.alert);
        const tile = tiles.get(e.alert.device);
        if (!tile) return;
        tile.alert(e.alert);
        touch(tile);
      },
    });
  }

  void load();
  return {
    unmount() {
      gone = true;
      sight.disconnect();
      clearInterval(ticker);
      live?.close();
      unmark(header);
      for (const tile of tiles.values()) unmark(tile);
    },
  };
}
