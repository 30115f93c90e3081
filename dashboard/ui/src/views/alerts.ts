/**
 * Alerts: filtered by state, compound and severity; acknowledged with a note; silenced by
 * compound, device and rule until a chosen time; with who acknowledged when, escalation and
 * muting shown. Rows are kept by alert id, so a refresh never closes a form being filled in.
 */
import { ApiError, withQuery, type Alert, type Silence, type Site } from '../api.ts';
import { fill, h } from '../dom.ts';
import { dateTime } from '../format.ts';
import { lang, ruleLabel, t } from '../i18n.ts';
import { Live } from '../live.ts';
import { paths } from '../router.ts';
import { ackText, alertFlags, alertPlace, coalesce, describeError, errorBox, loading, severityBadge, type View, type ViewContext } from './common.ts';

interface Row {
  alert: Alert;
  tr: HTMLTableRowElement;
  form?: HTMLTableRowElement;
}

const HOURS = [1, 4, 24] as const;

function localInput(ms: number): string {
  const d = new Date(ms);
  const p = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}T${p(d.getHours())}:${p(d.getMinutes())}`;
}

export function alertsView(root: HTMLElement, ctx: ViewContext): View {
  ctx.setTitle(t('alerts.title'));
  const s = ctx.session;
  const q = { state: ctx.query.get('state') === 'all' ? 'all' : 'active', site: ctx.query.get('site') ?? '', severity: ctx.query.get('severity') ?? '' };
  const actions = s.canAck || s.canSilence;
  const rows = new Map<string, Row>();
  const tbody = h('tbody');
  const count = h('span', { class: 'muted', 'data-testid': 'alert-count' });
  const message = h('div', { role: 'status' });
  const listBox = h('div', null, loading());
  const silencesBox = h('div');
  let live: Live | undefined;
  let gone = false;

  const select = (name: keyof typeof q, label: string, options: [string, string][]) =>
    h(
      'label',
      { class: 'field' },
      label,
      h(
        'select',
        {
          name,
          onchange: (e: Event) => {
            q[name] = (e.target as HTMLSelectElement).value;
            ctx.navigate(paths.alerts(q), true);
            void load();
          },
        },
        options.map(([v, text]) => h('option', { value: v, selected: v === q[name] }, text)),
      ),
    );
  const siteSelect = h('span');
  const filters = h(
    'div',
    { class: 'filters' },
    select('state', t('alerts.state'), [
      ['active', t('alerts.state.active')],
      ['all', t('alerts.state.all')],
    ]),
    siteSelect,
    select('severity', t('alerts.severity'), [
      ['', t('alerts.any')],
      ['critical', t('severity.critical')],
      ['warning', t('severity.warning')],
    ]),
    count,
  );
  const table = h(
    'table',
    { class: 'alerts' },
    h(
      'thead',
      null,
      h(
        'tr',
        null,
        [t('alerts.col.severity'), t('alerts.col.state'), t('alerts.col.alert'), t('alerts.col.where'), t('alerts.col.started'), t('alerts.col.ack'), actions ? t('alerts.col.actions') : null].map((c) => (c === null ? null : h('th', null, c))),
      ),
    ),
    tbody,
  );
  fill(root, h('h1', null, t('alerts.title')), filters, message, listBox, h('section', { class: 'card' }, h('h2', null, t('silences.title')), silencesBox));

  function say(text: string, kind: 'ok' | 'error' = 'ok'): void {
    fill(message, text ? h('p', { class: `notice ${kind}` }, text) : null);
  }

  function cells(a: Alert): HTMLElement[] {
    const out = [
      h('td', null, severityBadge(a.severity)),
      h('td', { class: 'flags' }, alertFlags(a)),
      h('td', null, h('div', { class: 'summary' }, a.summary[lang()]), h('div', { class: 'muted small' }, ruleLabel(a.rule))),
      h('td', null, alertPlace(a, paths.device)),
      h('td', null, dateTime(a.startsAt)),
      h('td', null, ackText(a)),
    ];
    if (actions) {
      const open = a.state === 'firing' || a.state === 'acknowledged' || a.state === 'pending';
      out.push(
        h(
          'td',
          { class: 'actions' },
          s.canAck && a.state === 'firing' ? h('button', { type: 'button', 'data-action': 'ack', onclick: () => openForm(a.id, 'ack') }, t('alerts.ack')) : null,
          s.canSilence && open && a.kind !== 'system' ? h('button', { type: 'button', class: 'secondary', 'data-action': 'silence', onclick: () => openForm(a.id, 'silence') }, t('alerts.silence')) : null,
        ),
      );
    }
    return out;
  }

  function closeForm(id: string): void {
    const r = rows.get(id);
    r?.form?.remove();
    if (r) delete r.form;
  }

  function openForm(id: string, kind: 'ack' | 'silence'): void {
    const r = rows.get(id);
    if (!r) return;
    closeForm(id);
    const form = kind === 'ack' ? ackForm(r.alert) : silenceForm(r.alert);
    r.form = h('tr', { class: 'form-row', 'data-form': kind }, h('td', { colSpan: 7 }, form));
    r.tr.after(r.form);
    form.querySelector<HTMLElement>('textarea, input:not([type=checkbox])')?.focus();
  }

  function ackForm(a: Alert): HTMLFormElement {
    const note = h('textarea', { name: 'note', rows: 2, maxLength: 1000, placeholder: t('alerts.ackNote'), 'aria-label': t('alerts.ackNote') });
    const submit = h('button', { type: 'submit' }, t('alerts.ackConfirm'));
    return h(
      'form',
      {
        class: 'inline-form',
        onsubmit: async (e: Event) => {
          e.preventDefault();
          submit.disabled = true;
          try {
            const updated = await s.api.post<Alert>(`/api/alerts/${encodeURIComponent(a.id)}/ack`, note.value.trim() ? { note: note.value.trim() } : {});
            closeForm(a.id);
            upsert(updated);
            say('');
          } catch (err) {
            submit.disabled = false;
            say(err instanceof ApiError && err.status === 409 ? t('alerts.ackConflict') : describeError(err), 'error');
            if (err instanceof ApiError && err.status === 409) refresh();
          }
        },
      },
      note,
      h('div', { class: 'buttons' }, submit, h('button', { type: 'button', class: 'secondary', onclick: () => closeForm(a.id) }, t('alerts.cancel'))),
    );
  }

  function silenceForm(a: Alert): HTMLFormElement {
    // A site's outage has no device to match on.
    const matchers: [string, string, string][] = [['site', t('alerts.site'), a.site], ...(a.device ? ([['device', t('ingest.col.device'), a.device]] as [string, string, string][]) : []), ['rule', t('alerts.col.alert'), a.rule]];
    const boxes = matchers.map(([k, label, v]) => ({ k, v, input: h('input', { type: 'checkbox', name: k, checked: true }), label: `${label}: ${k === 'rule' ? ruleLabel(v) : k === 'site' ? a.siteName : v}` }));
    const until = h('select', { name: 'until' }, HOURS.map((n) => h('option', { value: String(n) }, t('alerts.silenceFor', { n }))), h('option', { value: 'custom' }, t('alerts.silenceCustom')));
    const custom = h('input', { type: 'datetime-local', name: 'endsAt', value: localInput(Date.now() + 2 * 3_600_000), hidden: true });
    until.addEventListener('change', () => (custom.hidden = until.value !== 'custom'));
    const comment = h('input', { type: 'text', name: 'comment', maxLength: 500, placeholder: t('alerts.silenceComment'), 'aria-label': t('alerts.silenceComment') });
    const submit = h('button', { type: 'submit' }, t('alerts.silenceCreate'));
    return h(
      'form',
      {
        class: 'inline-form',
        onsubmit: async (e: Event) => {
          e.preventDefault();
          const chosen = Object.fromEntries(boxes.filter((b) => b.input.checked).map((b) => [b.k, b.v]));
          if (Object.keys(chosen).length === 0) return say(t('alerts.silenceNeedsMatch'), 'error');
          if (!comment.value.trim()) return say(t('alerts.silenceNeedsComment'), 'error');
          const end = until.value === 'custom' ? new Date(custom.value).getTime() : Date.now() + Number(until.value) * 3_600_000;
          if (!(end > Date.now())) return say(t('alerts.silenceBadEnd'), 'error');
          submit.disabled = true;
          try {
            const created = await s.api.post<Silence>('/api/silences', { matchers: chosen, endsAt: new Date(end).toISOString(), comment: comment.value.trim() });
            closeForm(a.id);
            say(t('alerts.silenceCreated', { when: dateTime(created.endsAt) }));
            void loadSilences();
            refresh();
          } catch (err) {
            submit.disabled = false;
            say(describeError(err), 'error');
          }
        },
      },
      h('fieldset', null, h('legend', null, t('alerts.silenceMatch')), boxes.map((b) => h('label', { class: 'check' }, b.input, b.label))),
      h('label', { class: 'field' }, t('alerts.silenceUntil'), until, custom),
      comment,
      h('div', { class: 'buttons' }, submit, h('button', { type: 'button', class: 'secondary', onclick: () => closeForm(a.id) }, t('alerts.cancel'))),
    );
  }

  function upsert(a: Alert): void {
    const r = rows.get(a.id);
    if (!r) return;
    r.alert = a;
    r.tr.replaceChildren(...cells(a));
    r.tr.dataset.state = a.state;
  }

  function show(list: Alert[]): void {
    const visible = list.filter((a) => !q.severity || a.severity === q.severity);
    const keep = new Set(visible.map((a) => a.id));
    for (const [id, r] of rows) {
      if (keep.has(id)) continue;
      r.tr.remove();
      r.form?.remove();
      rows.delete(id);
    }
    for (const a of visible) {
      let r = rows.get(a.id);
      if (!r) {
        r = { alert: a, tr: h('tr', { 'data-alert': a.id, 'data-device': a.device, 'data-rule': a.rule, 'data-state': a.state }, cells(a)) };
        rows.set(a.id, r);
      } else if (JSON.stringify(r.alert) !== JSON.stringify(a)) upsert(a);
      tbody.appendChild(r.tr);
      if (r.form) tbody.appendChild(r.form);
    }
    count.textContent = t('alerts.count', { n: visible.length });
    fill(listBox, visible.length ? table : h('p', { class: 'notice' }, t('alerts.none')));
  }

  async function load(): Promise<void> {
    try {
      const r = await s.api.get<{ items: Alert[] }>(withQuery('/api/alerts', { state: q.state, site: q.site, limit: 1000 }));
      if (!gone) show(r.items);
    } catch (err) {
      if (!gone) fill(listBox, errorBox(err, () => void load()));
    }
  }
  const refresh = coalesce(() => void load(), 500);

  async function loadSilences(): Promise<void> {
    try {
      const r = await s.api.get<{ items: Silence[] }>('/api/silences');
      if (gone) return;
      const now = Date.now();
      const list = r.items.filter((x) => Date.parse(x.endsAt) > now - 86_400_000).sort((a, b) => Date.parse(b.endsAt) - Date.parse(a.endsAt));
      fill(
        silencesBox,
        list.length === 0
          ? h('p', { class: 'muted' }, t('silences.none'))
          : h(
              'ul',
              { class: 'silences' },
              list.map((x) => {
                const active = Date.parse(x.startsAt) <= now && Date.parse(x.endsAt) > now;
                return h(
                  'li',
                  { 'data-silence': x.id },
                  h('span', { class: `badge ${active ? 'muted' : 'alert-resolved'}` }, t(active ? 'silences.active' : 'silences.ended')),
                  ' ',
                  h('code', null, Object.entries(x.matchers).map(([k, v]) => `${k}=${v}`).join(' ')),
                  ' ',
                  t('silences.until', { start: dateTime(x.startsAt), end: dateTime(x.endsAt) }),
                  ' — ',
                  t('silences.by', { who: x.createdBy ?? '?', comment: x.comment }),
                  s.canSilence && active
                    ? h(
                        'button',
                        {
                          type: 'button',
                          class: 'link',
                          onclick: async () => {
                            try {
                              await s.api.del(`/api/silences/${encodeURIComponent(x.id)}`);
                              void loadSilences();
                              refresh();
                            } catch (err) {
                              say(describeError(err), 'error');
                            }
                          },
                        },
                        t('silences.delete'),
                      )
                    : null,
                );
              }),
            ),
      );
    } catch (err) {
      if (!gone) fill(silencesBox, errorBox(err, () => void loadSilences()));
    }
  }

  async function start(): Promise<void> {
    let sites: Site[] = [];
    try {
      sites = (await s.api.get<{ items: Site[] }>('/api/sites')).items;
    } catch {
      // the list still loads; the compound filter just has no choices
    }
    if (gone) return;
    fill(
      siteSelect,
      select('site', t('alerts.site'), [['', t('alerts.any')], ...sites.map((x): [string, string] => [x.id, x.name])]),
    );
    live = new Live(s.token, sites.map((x) => x.id), {
      state: (st) => ctx.setLive(st),
      unauthorized: () => ctx.signOut(true),
      // The list is the API's (scoped, filtered): any change asks for it again, at most twice a second.
      alert: refresh,
      snapshot: refresh,
    });
  }

  void load();
  void loadSilences();
  void start();
  return {
    unmount() {
      gone = true;
      refresh.cancel();
      live?.close();
    },
  };
}
