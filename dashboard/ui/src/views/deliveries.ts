/**
 * Deliveries (admin and operator): for each recent alert, who was told, over which channel,
 * of what, when, after how many attempts, and what the receiver answered — from
 * `GET /api/alerts/:id/deliveries` (no bodies, no secrets: the channel's target is redacted).
 * Newest alerts first; refreshed on demand and when the live feed says an alert changed.
 */
import { withQuery, type Alert } from '../api.ts';
import { fill, h } from '../dom.ts';
import { dateTime } from '../format.ts';
import { departmentLabel, lang, ruleLabel, t, tOr } from '../i18n.ts';
import { paths } from '../router.ts';
import { alertPlace, errorBox, loading, severityBadge, type View, type ViewContext } from './common.ts';

export interface DeliveryRow {
  id: string;
  event: string;
  recipient: string;
  channel: { type: string; target: string };
  status: 'pending' | 'sent' | 'failed';
  attempts: number;
  createdAt: string;
  nextAt: string | null;
  sentAt: string | null;
  failedAt: string | null;
  deadline: string;
  lastError: string | null;
}

/** Alerts shown at once; their deliveries are fetched a few at a time. */
const ALERTS = 30;
const PARALLEL = 4;

function answer(d: DeliveryRow): HTMLElement {
  if (d.status === 'sent') return h('span', { class: 'badge state-ok' }, t('deliveries.status.sent'), ' ', h('span', { class: 'muted' }, dateTime(d.sentAt!)));
  if (d.status === 'failed') return h('span', null, h('span', { class: 'badge state-critical' }, t('deliveries.status.failed')), ' ', h('span', { class: 'muted small' }, d.lastError ?? ''));
  return h(
    'span',
    null,
    h('span', { class: 'badge state-warning' }, t('deliveries.status.pending')),
    d.lastError ? h('span', { class: 'muted small' }, ` ${d.lastError}`) : null,
    d.nextAt && d.attempts > 0 ? h('span', { class: 'muted small' }, ` ${t('deliveries.nextAt', { at: dateTime(d.nextAt) })}`) : null,
  );
}

function deliveriesTable(items: DeliveryRow[]): HTMLElement {
  if (items.length === 0) return h('p', { class: 'muted small', 'data-testid': 'no-deliveries' }, t('deliveries.none'));
  return h(
    'table',
    { class: 'list compact', 'data-testid': 'deliveries' },
    h('thead', null, h('tr', null, [t('deliveries.recipient'), t('deliveries.channel'), t('deliveries.event'), t('deliveries.created'), t('deliveries.attempts'), t('deliveries.answer')].map((c) => h('th', null, c)))),
    h(
      'tbody',
      null,
      items.map((d) =>
        h(
          'tr',
          { 'data-status': d.status },
          h('td', null, departmentLabel(d.recipient)),
          h('td', null, tOr(`channel.${d.channel.type}`, d.channel.type), ' ', h('span', { class: 'muted small' }, d.channel.target)),
          h('td', null, tOr(`event.${d.event}`, d.event)),
          h('td', null, dateTime(d.createdAt)),
          h('td', { class: 'num' }, String(d.attempts)),
          h('td', null, answer(d)),
        ),
      ),
    ),
  );
}

export function deliveriesView(root: HTMLElement, ctx: ViewContext): View {
  ctx.setTitle(t('deliveries.title'));
  const s = ctx.session;
  if (s.role !== 'admin' && s.role !== 'operator') {
    fill(root, h('h1', null, t('deliveries.title')), h('p', { class: 'notice error' }, t('deliveries.forbidden')));
    return { unmount() {} };
  }
  const list = h('div', null, loading());
  let gone = false;
  let loadingNow = false;

  fill(
    root,
    h('div', { class: 'view-head' }, h('h1', null, t('deliveries.title')), h('button', { type: 'button', class: 'secondary', onclick: () => void load() }, t('deliveries.refresh'))),
    h('p', { class: 'muted' }, t('deliveries.intro')),
    list,
  );

  async function load(): Promise<void> {
    if (loadingNow) return;
    loadingNow = true;
    try {
      const alerts = (await s.api.get<{ items: Alert[] }>(withQuery('/api/alerts', { state: 'all', limit: ALERTS }))).items;
      const rows: (DeliveryRow[] | Error)[] = new Array(alerts.length);
      let next = 0;
      await Promise.all(
        Array.from({ length: Math.min(PARALLEL, alerts.length) }, async () => {
          while (next < alerts.length) {
            const i = next++;
            try {
              rows[i] = (await s.api.get<{ items: DeliveryRow[] }>(`/api/alerts/${encodeURIComponent(alerts[i]!.id)}/deliveries`)).items;
            } catch (err) {
              rows[i] = err as Error;
            }
          }
        }),
      );
      if (gone) return;
      if (alerts.length === 0) return void fill(list, h('p', { class: 'muted' }, t('deliveries.noAlerts')));
      fill(
        list,
        alerts.map((a, i) => {
          const r = rows[i]!;
          return h(
            'section',
            { class: 'card', 'data-alert': a.id },
            h(
              'div',
              { class: 'section-head' },
              h('h2', null, severityBadge(a.severity), ' ', ruleLabel(a.rule), ' · ', alertPlace(a, paths.device)),
              h('span', { class: 'muted small' }, `${tOr(`alertState.${a.state}`, a.state)} · ${dateTime(a.firedAt ?? a.startsAt)}`),
            ),
            h('p', { class: 'small' }, a.summary[lang()]),
            r instanceof Error ? errorBox(r) : deliveriesTable(r),
          );
        }),
      );
    } catch (err) {
      if (!gone) fill(list, errorBox(err, () => void load()));
    } finally {
      loadingNow = false;
    }
  }
  void load();
  return {
    unmount() {
      gone = true;
    },
  };
}
