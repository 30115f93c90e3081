/** The estate at a glance: every compound the token sees, its devices by state, and the active alerts by severity. */
import type { Alert, DeviceState, Site } from '../api.ts';
import { fill, h } from '../dom.ts';
import { kindLabel, t } from '../i18n.ts';
import { Live } from '../live.ts';
import { paths } from '../router.ts';
import { coalesce, errorBox, loading, localLabel, type View, type ViewContext } from './common.ts';

const STATES: readonly DeviceState[] = ['critical', 'warning', 'offline', 'unknown', 'ok'];

function stateBar(byState: Record<DeviceState, number>, total: number): HTMLElement {
  return h(
    'div',
    { class: 'state-bar', role: 'img', 'aria-label': STATES.map((s) => `${t(`state.${s}`)} ${byState[s]}`).join(', ') },
    STATES.filter((s) => byState[s] > 0).map((s) => h('span', { class: `seg state-${s}`, style: `flex-grow:${byState[s] / Math.max(1, total)}` })),
  );
}

function stateCounts(byState: Record<DeviceState, number>): HTMLElement {
  return h(
    'ul',
    { class: 'counts' },
    STATES.map((s) => h('li', { class: `count state-${s}`, 'data-state': s }, h('span', { class: 'dot' }), t(`state.${s}`), ' ', h('b', null, byState[s]))),
  );
}

export function overviewView(root: HTMLElement, ctx: ViewContext): View {
  ctx.setTitle(t('overview.title'));
  const body = h('div', { class: 'overview' }, loading());
  fill(root, h('h1', null, t('overview.title')), body);
  let live: Live | undefined;
  let gone = false;

  async function load(): Promise<void> {
    try {
      const [sites, alerts] = await Promise.all([
        ctx.session.api.get<{ items: Site[] }>('/api/sites'),
        ctx.session.api.get<{ items: Alert[] }>('/api/alerts?state=active&limit=1000'),
      ]);
      if (gone) return;
      render(sites.items, alerts.items);
      if (!live) startLive(sites.items.map((s) => s.id));
    } catch (err) {
      if (!gone) fill(body, errorBox(err, () => void load()));
    }
  }

  function render(sites: Site[], alerts: Alert[]): void {
    const total = { ok: 0, warning: 0, critical: 0, offline: 0, unknown: 0 };
    let devices = 0;
    for (const s of sites) {
      devices += s.devices;
      for (const k of STATES) total[k] += s.byState[k] ?? 0;
    }
    const sev = { critical: 0, warning: 0 };
    let acked = 0;
    const bySite = new Map<string, { critical: number; warning: number }>();
    for (const a of alerts) {
      sev[a.severity]++;
      if (a.state === 'acknowledged') acked++;
      const c = bySite.get(a.site) ?? { critical: 0, warning: 0 };
      c[a.severity]++;
      bySite.set(a.site, c);
    }
    fill(
      body,
      h(
        'section',
        { class: 'summary' },
        h('div', { class: 'card', 'data-testid': 'device-summary' }, h('h2', null, t('overview.deviceStates')), h('p', { class: 'big' }, t('overview.deviceCount', { n: devices })), stateBar(total, devices), stateCounts(total)),
        h(
          'a',
          { class: 'card link-card', href: paths.alerts(), 'data-testid': 'alert-summary' },
          h('h2', null, t('overview.activeAlerts')),
          h('p', { class: 'big' }, h('span', { class: 'sev-critical-text', 'data-severity': 'critical' }, `${t('severity.critical')} ${sev.critical}`), ' · ', h('span', { class: 'sev-warning-text', 'data-severity': 'warning' }, `${t('severity.warning')} ${sev.warning}`)),
          h('p', { class: 'muted' }, t('overview.unacked', { n: alerts.length - acked }), ' · ', t('overview.acked', { n: acked })),
        ),
      ),
      h('h2', null, t('overview.compounds')),
      sites.length === 0
        ? h('p', { class: 'notice' }, t('overview.noSites'))
        : h(
            'section',
            { class: 'sites' },
            sites.map((s) => {
              const a = bySite.get(s.id) ?? { critical: 0, warning: 0 };
              return h(
                'a',
                { class: 'card link-card site-card', href: paths.compound(s.id), 'data-site': s.id },
                h('h3', null, s.name),
                h('p', { class: 'muted small' }, [s.district, s.address].filter(Boolean).join(' · ')),
                h('p', { class: 'small' }, localLabel(s)),
                h('p', null, t('overview.deviceCount', { n: s.devices }), ' — ', (Object.entries(s.kinds) as [string, number][]).filter(([, n]) => n > 0).map(([k, n]) => `${kindLabel(k)} ${n}`).join('、')),
                stateBar(s.byState, s.devices),
                stateCounts(s.byState),
                a.critical + a.warning > 0
                  ? h('p', { class: 'site-alerts' }, h('span', { class: 'sev-critical-text' }, `${t('severity.critical')} ${a.critical}`), ' · ', h('span', { class: 'sev-warning-text' }, `${t('severity.warning')} ${a.warning}`))
                  : null,
              );
            }),
          ),
    );
  }

  const refresh = coalesce(() => void load(), 2000);
  // Readings change the counts only when a device is first heard from: asked for less often.
  const refreshSlowly = coalesce(refresh, 10_000);
  function startLive(sites: string[]): void {
    live = new Live(ctx.session.token, sites, {
      state: (s) => ctx.setLive(s),
      unauthorized: () => ctx.signOut(true),
      // The counts are the server's: any change there asks for them again, at most every 2 s.
      reading: refreshSlowly,
      status: refresh,
      alert: refresh,
      snapshot: refresh,
    });
  }

  void load();
  return {
    unmount() {
      gone = true;
      refresh.cancel();
      refreshSlowly.cancel();
      live?.close();
    },
  };
}
