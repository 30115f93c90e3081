/**
 * One device: what it is and where, its latest values, a live chart of each metric over 1 h,
 * 24 h or 7 d (mean in a min–max band, with the device's thresholds drawn), and its alerts.
 */
import { METRICS } from '../../../../config/catalog.ts';
import { withQuery, type Alert, type DeviceDetail, type Series } from '../api.ts';
import { MetricChart } from '../chart.ts';
import { fill, h, LiveText } from '../dom.ts';
import { dateTime, deviceState, metricValue, number, relativeTime } from '../format.ts';
import { mark, unmark, type Flushable } from '../frame.ts';
import { kindLabel, lang, metricLabel, ruleLabel, t } from '../i18n.ts';
import { Live } from '../live.ts';
import { paths } from '../router.ts';
import { isOpen } from '../tiles.ts';
import { maintenanceCard } from './maintenance.ts';
import { ackText, alertFlags, errorBox, loading, severityBadge, stateBadge, type View, type ViewContext } from './common.ts';

export const RANGES = { '1h': { ms: 3_600_000, step: '15s' }, '24h': { ms: 86_400_000, step: '5m' }, '7d': { ms: 7 * 86_400_000, step: '30m' } } as const;
type Range = keyof typeof RANGES;
const isRange = (s: string | null): s is Range => s !== null && s in RANGES;

export function deviceView(root: HTMLElement, ctx: ViewContext, id: string): View {
  ctx.setTitle(id);
  fill(root, loading());
  let range: Range = isRange(ctx.query.get('range')) ? (ctx.query.get('range') as Range) : '1h';
  let device: DeviceDetail | undefined;
  let alerts: Alert[] = [];
  const charts = new Map<string, MetricChart>();
  const values: Record<string, { value: number | boolean; at: number }> = {};
  let lastSeen: number | null = null;
  let online: boolean | null = null;
  let live: Live | undefined;
  let ticker: ReturnType<typeof setInterval> | undefined;
  let gone = false;
  let seriesLoad = 0;

  const stateSlot = h('span');
  const seenText = new LiveText();
  const onlineText = new LiveText();
  const rows = new Map<string, { value: LiveText; at: LiveText }>();
  const chartsBox = h('div', { class: 'charts' });
  const noData = h('p', { class: 'muted' });
  const rangeBox = h('div', { class: 'chips', role: 'group' });
  const history = h('div');

  // Header, latest values: rewritten at most once a frame after live events.
  const now: Flushable = {
    flush() {
      if (!device) return;
      const l = lang();
      const state = deviceState(alerts.filter(isOpen).map((a) => a.severity), online, lastSeen !== null || Object.keys(values).length > 0);
      if (stateSlot.dataset.state !== state) {
        stateSlot.dataset.state = state;
        fill(stateSlot, stateBadge(state));
      }
      onlineText.set(online === null ? '—' : t(online ? 'value.yes' : 'value.no'));
      const at = Date.now();
      seenText.set(relativeTime(lastSeen, at, l));
      const spec = METRICS[device.kind];
      for (const [m, row] of rows) {
        const v = values[m];
        row.value.set(metricValue(spec.get(m), v?.value, l));
        row.at.set(v ? relativeTime(v.at, at, l) : '—');
      }
    },
  };

  async function load(): Promise<void> {
    try {
      device = await ctx.session.api.get<DeviceDetail>(`/api/devices/${encodeURIComponent(id)}`);
      if (gone) return;
      online = device.online;
      lastSeen = device.lastSeen ? Date.parse(device.lastSeen) : null;
      for (const [m, v] of Object.entries(device.values)) values[m] = { value: v.value, at: Date.parse(v.at) };
      render(device);
      await Promise.all([loadSeries(), loadAlerts()]);
      if (gone) return;
      startLive(device);
    } catch (err) {
      if (!gone) fill(root, errorBox(err, () => void load()));
    }
  }

  function render(d: DeviceDetail): void {
    const title = d.name ? `${d.name} · ${d.id}` : d.id;
    ctx.setTitle(title);
    const spec = METRICS[d.kind];
    const table = h(
      'table',
      { class: 'latest' },
      h('thead', null, h('tr', null, h('th', null, t('device.metric')), h('th', null, t('device.value')), h('th', null, t('device.at')))),
      h(
        'tbody',
        null,
        [...spec.keys()].map((m) => {
          const row = { value: new LiveText(), at: new LiveText() };
          rows.set(m, row);
          return h('tr', { 'data-metric': m }, h('th', { scope: 'row' }, metricLabel(d.kind, m)), h('td', { class: 'value' }, row.value.node), h('td', { class: 'muted' }, row.at.node));
        }),
      ),
    );
    fill(
      rangeBox,
      (Object.keys(RANGES) as Range[]).map((r) =>
        h('button', { type: 'button', class: 'chip', 'data-range': r, 'aria-pressed': String(r === range), onclick: () => chooseRange(r) }, t(`device.range.${r}`)),
      ),
    );
    fill(
      root,
      h(
        'div',
        { class: 'view-head' },
        h(
          'div',
          null,
          h('p', { class: 'crumbs' }, h('a', { href: paths.overview() }, t('nav.overview')), ' / ', h('a', { href: paths.compound(d.site) }, d.siteName), ' / ', d.building),
          h('h1', null, title, ' ', stateSlot),
        ),
      ),
      h(
        'dl',
        { class: 'facts' },
        h('div', null, h('dt', null, t('device.kind')), h('dd', null, kindLabel(d.kind))),
        h('div', null, h('dt', null, t('device.site')), h('dd', null, h('a', { href: paths.compound(d.site) }, d.siteName))),
        h('div', null, h('dt', null, t('device.building')), h('dd', null, d.building)),
        h('div', null, h('dt', null, t('device.online')), h('dd', null, onlineText.node)),
        h('div', null, h('dt', null, t('device.lastSeen')), h('dd', { 'data-testid': 'last-seen' }, seenText.node)),
      ),
      h('div', { class: 'device-grid' }, h('section', { class: 'card' }, h('h2', null, t('device.latest')), table), h('section', { class: 'card grow' }, h('div', { class: 'section-head' }, h('h2', null, t('device.trends')), rangeBox), chartsBox, noData)),
      h('section', { class: 'card' }, h('h2', null, t('device.history')), history),
      maintenanceCard(ctx.session, d, () => gone),
    );
    now.flush();
    ticker = setInterval(() => mark(now), 10_000);
  }

  function chooseRange(r: Range): void {
    if (r === range) return;
    range = r;
    for (const b of rangeBox.children) b.setAttribute('aria-pressed', String((b as HTMLElement).dataset.range === r));
    ctx.navigate(withQuery(paths.device(id), { range: r === '1h' ? undefined : r }), true);
    void loadSeries();
  }

  async function loadSeries(): Promise<void> {
    const d = device!;
    const load = ++seriesLoad;
    const { ms, step } = RANGES[range];
    const to = new Date();
    const from = new Date(to.getTime() - ms);
    const metrics = [...METRICS[d.kind].values()];
    const results = await Promise.all(
      metrics.map((m) =>
        ctx.session.api
          .get<Series>(withQuery(`/api/devices/${encodeURIComponent(d.id)}/series`, { metric: m.name, from: from.toISOString(), to: to.toISOString(), step }))
          .catch(() => null),
      ),
    );
    if (gone || load !== seriesLoad) return;
    for (const c of charts.values()) c.destroy();
    charts.clear();
    chartsBox.replaceChildren();
    const empty: string[] = [];
    metrics.forEach((m, i) => {
      const s = results[i];
      if (!s || s.points.length === 0) {
        empty.push(m.label[lang()]);
        return;
      }
      const unit = s.unit || m.unit;
      const lines = d.thresholds
        .filter((th) => th.metric === m.name)
        .map((th) => ({
          value: th.value,
          severity: th.severity,
          label: `${t('device.threshold', { severity: t(`severity.${th.severity}`), direction: t(`device.${th.direction}`), value: `${number(th.value)}${unit ? ` ${unit}` : ''}` })} (${ruleLabel(th.rule)})`,
        }));
      const box = h('div', { class: 'chart' });
      const head = h('h3', null, m.label[lang()], unit ? h('span', { class: 'muted small' }, ` ${unit}`) : null);
      chartsBox.appendChild(h('figure', { class: 'chart-card', 'data-metric': m.name }, head, box));
      const chart = new MetricChart(box, { title: m.label[lang()], unit, boolean: m.type === 'boolean', integer: m.integer ?? false, thresholds: lines, spanMs: ms });
      chart.set(s.points);
      charts.set(m.name, chart);
    });
    noData.textContent = empty.length ? t('device.noData', { list: empty.join('、') }) : '';
  }

  async function loadAlerts(): Promise<void> {
    const d = device!;
    try {
      const r = await ctx.session.api.get<{ items: Alert[] }>(withQuery('/api/alerts', { state: 'all', limit: 1000, site: d.site }));
      if (gone) return;
      alerts = r.items.filter((a) => a.device === d.id);
      renderHistory();
    } catch (err) {
      if (!gone) fill(history, errorBox(err, () => void loadAlerts()));
    }
  }

  function renderHistory(): void {
    mark(now);
    if (alerts.length === 0) return fill(history, h('p', { class: 'muted' }, t('device.noAlerts')));
    fill(
      history,
      h(
        'table',
        { class: 'alerts' },
        h('thead', null, h('tr', null, [t('alerts.col.severity'), t('alerts.col.state'), t('alerts.col.alert'), t('alerts.col.started'), t('alerts.col.ack')].map((c) => h('th', null, c)))),
        h(
          'tbody',
          null,
          alerts.map((a) =>
            h(
              'tr',
              { 'data-alert': a.id },
              h('td', null, severityBadge(a.severity)),
              h('td', null, alertFlags(a)),
              h('td', null, h('div', null, a.summary[lang()]), h('div', { class: 'muted small' }, ruleLabel(a.rule))),
              h('td', null, dateTime(a.startsAt)),
              h('td', null, ackText(a)),
            ),
          ),
        ),
      ),
    );
  }

  function startLive(d: DeviceDetail): void {
    live = new Live(ctx.session.token, [d.site], {
      state: (s) => ctx.setLive(s),
      unauthorized: () => ctx.signOut(true),
      snapshot: (snap) => {
        const me = snap.devices.find((x) => x.id === d.id);
        if (me) {
          online = me.online;
          lastSeen = me.lastSeen ? Date.parse(me.lastSeen) : lastSeen;
          for (const [m, v] of Object.entries(me.values)) values[m] = { value: v.value, at: Date.parse(v.at) };
        }
        mark(now);
        void loadAlerts();
      },
      reading: (r) => {
        for (const item of r.items) {
          if (item.device !== d.id) continue;
          const at = Date.parse(item.ts);
          for (const [m, v] of Object.entries(item.values)) {
            if (!values[m] || values[m].at <= at) values[m] = { value: v, at };
            charts.get(m)?.add(at, v);
          }
          lastSeen = Date.now();
          mark(now);
        }
      },
      status: (s) => {
        if (s.device !== d.id) return;
        online = s.online;
        lastSeen = Date.now();
        mark(now);
      },
      alert: (e) => {
        if (e.alert.device !== d.id) return;
        // A department sees only its own alerts: ask the API, which scopes them.
        if (ctx.session.role === 'department') return void loadAlerts();
        const i = alerts.findIndex((a) => a.id === e.alert.id);
        if (i >= 0) alerts[i] = e.alert;
        else alerts.unshift(e.alert);
        renderHistory();
      },
    });
  }

  void load();
  return {
    unmount() {
      gone = true;
      clearInterval(ticker);
      live?.close();
      unmark(now);
      for (const c of charts.values()) c.destroy();
    },
  };
}
