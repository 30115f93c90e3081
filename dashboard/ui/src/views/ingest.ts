/** What ingest refused: rejected messages (filtered by reason, newest first, page by page) and devices that are not in the estate file. */
import { ApiError, withQuery, type Reject, type Unregistered } from '../api.ts';
import { fill, h } from '../dom.ts';
import { dateTime } from '../format.ts';
import { kindLabel, t, tOr } from '../i18n.ts';
import { errorBox, loading, type View, type ViewContext } from './common.ts';

export const REASONS = ['bad_topic', 'unknown_device', 'bad_payload', 'bad_metric', 'bad_timestamp', 'store_rejected', 'spool_full'] as const;
const PAGE = 100;

export function ingestView(root: HTMLElement, ctx: ViewContext): View {
  ctx.setTitle(t('ingest.title'));
  const api = ctx.session.api;
  let reason = (REASONS as readonly string[]).includes(ctx.query.get('reason') ?? '') ? ctx.query.get('reason')! : '';
  let gone = false;
  const rejectsBox = h('div', null, loading());
  const unregisteredBox = h('div', null, loading());
  const tbody = h('tbody');
  const more = h('button', { type: 'button', class: 'secondary', hidden: true }, t('ingest.more'));
  let next: number | undefined;

  if (!ctx.session.canSeeIngest) {
    fill(root, h('h1', null, t('ingest.title')), h('p', { class: 'notice error' }, t('ingest.forbidden')));
    return { unmount() {} };
  }

  const reasonSelect = h(
    'select',
    {
      name: 'reason',
      onchange: () => {
        reason = reasonSelect.value;
        ctx.navigate(withQuery('/ingest', { reason }), true);
        void loadRejects(false);
      },
    },
    h('option', { value: '' }, t('ingest.allReasons')),
    REASONS.map((r) => h('option', { value: r, selected: r === reason }, tOr(`reason.${r}`, r))),
  );
  more.addEventListener('click', () => void loadRejects(true));

  fill(
    root,
    h('div', { class: 'view-head' }, h('h1', null, t('ingest.title')), h('button', { type: 'button', class: 'secondary', onclick: () => refresh() }, t('ingest.refresh'))),
    h('section', { class: 'card' }, h('div', { class: 'section-head' }, h('h2', null, t('ingest.rejects')), h('label', { class: 'field' }, t('ingest.reason'), reasonSelect)), rejectsBox, more),
    h('section', { class: 'card' }, h('h2', null, t('ingest.unregistered')), unregisteredBox),
  );

  const forbidden = (box: HTMLElement, err: unknown, retry: () => void) => fill(box, err instanceof ApiError && err.status === 403 ? h('p', { class: 'notice error' }, t('ingest.forbidden')) : errorBox(err, retry));

  async function loadRejects(append: boolean): Promise<void> {
    try {
      const r = await api.get<{ items: Reject[]; next?: number }>(withQuery('/api/ingest/rejects', { limit: PAGE, reason, before: append ? next : undefined }));
      if (gone) return;
      next = r.next;
      more.hidden = next === undefined;
      if (!append) tbody.replaceChildren();
      for (const x of r.items) {
        tbody.appendChild(
          h(
            'tr',
            { 'data-reason': x.reason },
            h('td', { class: 'nowrap' }, dateTime(x.at)),
            h('td', null, h('span', { class: 'badge reason' }, tOr(`reason.${x.reason}`, x.reason))),
            h('td', null, h('code', null, x.topic || '—')),
            h('td', null, x.detail),
            h('td', null, x.payload ? h('details', null, h('summary', null, x.payload.length > 60 ? `${x.payload.slice(0, 60)}…` : x.payload), h('pre', null, x.payload)) : '—'),
          ),
        );
      }
      fill(
        rejectsBox,
        tbody.children.length === 0
          ? h('p', { class: 'muted' }, t('ingest.noRejects'))
          : h(
              'table',
              { class: 'rejects' },
              h('thead', null, h('tr', null, [t('ingest.col.at'), t('ingest.reason'), t('ingest.col.topic'), t('ingest.col.detail'), t('ingest.col.payload')].map((c) => h('th', null, c)))),
              tbody,
            ),
      );
    } catch (err) {
      if (!gone) forbidden(rejectsBox, err, () => void loadRejects(false));
    }
  }

  async function loadUnregistered(): Promise<void> {
    try {
      const r = await api.get<{ items: Unregistered[] }>('/api/devices/unregistered');
      if (gone) return;
      fill(
        unregisteredBox,
        r.items.length === 0
          ? h('p', { class: 'muted' }, t('ingest.noUnregistered'))
          : h(
              'table',
              { class: 'unregistered' },
              h(
                'thead',
                null,
                h('tr', null, [t('ingest.col.device'), t('ingest.col.site'), t('ingest.col.kind'), t('ingest.col.topic'), t('ingest.col.firstSeen'), t('ingest.col.lastSeen'), t('ingest.col.messages'), t('ingest.reason')].map((c) => h('th', null, c))),
              ),
              h(
                'tbody',
                null,
                r.items.map((x) =>
                  h(
                    'tr',
                    { 'data-device': x.device },
                    h('td', null, h('b', null, x.device)),
                    h('td', null, x.site ?? '—'),
                    h('td', null, x.kind ? kindLabel(x.kind) : '—'),
                    h('td', null, h('code', null, x.topic)),
                    h('td', { class: 'nowrap' }, dateTime(x.firstSeen)),
                    h('td', { class: 'nowrap' }, dateTime(x.lastSeen)),
                    h('td', { class: 'num' }, x.messages),
                    h('td', null, tOr(`reason.${x.reason}`, x.reason)),
                  ),
                ),
              ),
            ),
      );
    } catch (err) {
      if (!gone) forbidden(unregisteredBox, err, () => void loadUnregistered());
    }
  }

  function refresh(): void {
    void loadRejects(false);
    void loadUnregistered();
  }

  refresh();
  return {
    unmount() {
      gone = true;
    },
  };
}
