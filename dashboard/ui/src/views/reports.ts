/**
 * Reports: the ones made so far (scheduled and requested), each opened in the page or
 * downloaded, and a form to request one. Files are fetched with the token and shown through
 * blob URLs, because a plain link would not carry the `Authorization` header.
 */
import { withQuery, type Report, type ReportFormat, type ReportKind, type Site } from '../api.ts';
import { fill, h } from '../dom.ts';
import { presetPeriod, shanghaiDateTime, reportFileName, reportPeriod, requestPeriod, shanghaiDate, type Preset } from '../format.ts';
import { t } from '../i18n.ts';
import { errorBox, loading, refusal, type View, type ViewContext } from './common.ts';

export const KINDS: readonly ReportKind[] = ['health', 'maintenance', 'accountability'];
const isKind = (s: string | null): s is ReportKind => s !== null && (KINDS as readonly string[]).includes(s);

export function reportsView(root: HTMLElement, ctx: ViewContext): View {
  ctx.setTitle(t('reports.title'));
  const { api } = ctx.session;
  let gone = false;
  let filter: ReportKind | '' = isKind(ctx.query.get('kind')) ? (ctx.query.get('kind') as ReportKind) : '';
  let sites: Site[] = [];
  const urls: string[] = [];
  const listBox = h('div', null, loading());
  const count = h('span', { class: 'muted', 'data-testid': 'report-count' });
  const viewer = h('section', { class: 'card report-viewer', hidden: true });
  const formBox = h('div');

  const blobUrl = async (r: Report, format: ReportFormat): Promise<string> => {
    const blob = await api.file(r.formats[format] ?? `/api/reports/${r.id}/report.${format}`);
    const url = URL.createObjectURL(blob);
    urls.push(url);
    return url;
  };

  async function open(r: Report, button: HTMLButtonElement): Promise<void> {
    button.disabled = true;
    try {
      const url = await blobUrl(r, 'html');
      if (gone) return;
      viewer.hidden = false;
      fill(
        viewer,
        h(
          'div',
          { class: 'section-head' },
          h('h2', null, `${t(`reportTitle.${r.kind}`)} · ${reportPeriod(r.kind, r.from, r.to)}`),
          h('span', null, h('a', { href: url, target: '_blank', rel: 'noopener' }, t('reports.openTab')), ' ', h('button', { type: 'button', class: 'secondary', onclick: () => ((viewer.hidden = true), fill(viewer)) }, t('reports.close'))),
        ),
        h('iframe', { class: 'report-frame', src: url, title: t('reports.frameTitle'), 'data-report': r.id }),
      );
      viewer.scrollIntoView({ block: 'start' });
    } catch (err) {
      if (!gone) fill(viewer, errorBox(err)), (viewer.hidden = false);
    } finally {
      button.disabled = false;
    }
  }

  async function download(r: Report, format: ReportFormat, button: HTMLButtonElement): Promise<void> {
    button.disabled = true;
    try {
      const url = await blobUrl(r, format);
      if (gone) return;
      const a = h('a', { href: url, download: reportFileName(r, format), hidden: true });
      document.body.appendChild(a);
      a.click();
      a.remove();
    } catch (err) {
      if (!gone) fill(viewer, errorBox(err)), (viewer.hidden = false);
    } finally {
      button.disabled = false;
    }
  }

  function sitesText(list: string[] | null): string {
    if (list === null) return t('reports.everySite');
    const names = list.map((id) => sites.find((s) => s.id === id)?.name ?? id);
    return names.length <= 3 ? names.join('、') : t('reports.sitesMore', { list: names.slice(0, 3).join('、'), n: names.length - 3 });
  }

  function row(r: Report): HTMLElement {
    const button = (label: string, onclick: (b: HTMLButtonElement) => void, cls = 'link') => {
      const b = h('button', { type: 'button', class: cls }, label);
      b.addEventListener('click', () => onclick(b));
      return b;
    };
    const period = reportPeriod(r.kind, r.from, r.to);
    return h(
      'tr',
      { 'data-report': r.id, 'data-kind': r.kind },
      h('td', null, t(`reportKind.${r.kind}`)),
      h('td', { class: 'nowrap' }, r.kind === 'maintenance' ? t('reports.asOf', { when: period }) : period),
      h('td', null, sitesText(r.sites)),
      h('td', null, t(r.schedule ? (`schedule.${r.schedule}` as 'schedule.daily') : 'schedule.none')),
      h('td', { class: 'nowrap' }, shanghaiDateTime(Date.parse(r.createdAt))),
      h(
        'td',
        { class: 'nowrap' },
        button(t('reports.view'), (b) => void open(r, b)),
        ' · ',
        button(t('reports.csv'), (b) => void download(r, 'csv', b)),
        ' · ',
        button(t('reports.json'), (b) => void download(r, 'json', b)),
      ),
    );
  }

  async function loadList(): Promise<void> {
    try {
      const r = await api.get<{ items: Report[] }>(withQuery('/api/reports', { kind: filter || undefined, limit: 200 }));
      if (gone) return;
      count.textContent = t(r.items.length === 1 ? 'reports.count.one' : 'reports.count', { n: r.items.length });
      fill(
        listBox,
        r.items.length === 0
          ? h('p', { class: 'muted' }, t('reports.none'))
          : h(
              'table',
              { class: 'reports' },
              h('thead', null, h('tr', null, [t('reports.col.kind'), t('reports.col.period'), t('reports.col.sites'), t('reports.col.source'), t('reports.col.created'), t('reports.col.files')].map((c) => h('th', null, c)))),
              h('tbody', null, r.items.map(row)),
            ),
      );
    } catch (err) {
      if (!gone) fill(listBox, errorBox(err, () => void loadList()));
    }
  }

  function requestForm(): HTMLElement {
    const kind = h('select', { name: 'kind' }, KINDS.map((k) => h('option', { value: k }, t(`reportKind.${k}`))));
    const today = shanghaiDate(Date.now());
    const first = presetPeriod('day', Date.now());
    const from = h('input', { type: 'date', name: 'from', value: first.from, max: today });
    const to = h('input', { type: 'date', name: 'to', value: first.to, max: today });
    const hint = h('p', { class: 'muted' }, t('reports.hint'));
    const all = h('input', { type: 'checkbox', name: 'all-sites', checked: true });
    const siteBoxes = sites.map((s) => ({ id: s.id, box: h('input', { type: 'checkbox', name: 'site', value: s.id, disabled: true }) }));
    all.addEventListener('change', () => siteBoxes.forEach((s) => (s.box.disabled = all.checked)));
    kind.addEventListener('change', () => (hint.textContent = kind.value === 'maintenance' ? `${t('reports.hint')} ${t('reports.hintMaintenance')}` : t('reports.hint')));
    const message = h('p', { role: 'status', 'data-testid': 'report-message' });
    const submit = h('button', { type: 'submit' }, t('reports.submit'));
    const preset = (p: Preset) =>
      h(
        'button',
        {
          type: 'button',
          class: 'chip',
          'data-preset': p,
          onclick: () => {
            const period = presetPeriod(p, Date.now());
            from.value = period.from;
            to.value = period.to;
          },
        },
        t(`reports.preset.${p}`),
      );
    const form = h(
      'form',
      { class: 'inline-form', 'data-testid': 'report-form' },
      h('label', { class: 'field' }, t('reports.kind'), kind),
      h('div', { class: 'chips', role: 'group' }, preset('day'), preset('week'), preset('month')),
      h('label', { class: 'field' }, t('reports.from'), from),
      h('label', { class: 'field' }, t('reports.to'), to),
      sites.length > 1
        ? h('fieldset', null, h('legend', null, t('reports.sites')), h('label', null, all, ' ', t('reports.allSites')), siteBoxes.map((s) => h('label', null, s.box, ' ', sites.find((x) => x.id === s.id)!.name)))
        : null,
      submit,
    );
    form.addEventListener('submit', (e) => {
      e.preventDefault();
      void (async () => {
        message.className = 'notice error';
        if (!from.value || !to.value) return void (message.textContent = t('reports.needDates'));
        if (from.value > to.value) return void (message.textContent = t('reports.badOrder'));
        const chosen = all.checked || sites.length <= 1 ? undefined : siteBoxes.filter((s) => s.box.checked).map((s) => s.id);
        if (chosen && chosen.length === 0) return void (message.textContent = t('reports.needSites'));
        submit.disabled = true;
        message.className = 'muted';
        message.textContent = t('reports.making');
        try {
          const period = requestPeriod(from.value, to.value, Date.now());
          const made = await api.post<Report>('/api/reports', { kind: kind.value, ...period, ...(chosen ? { sites: chosen } : {}) });
          if (gone) return;
          message.className = 'notice ok';
          message.textContent = t('reports.made', { title: t(`reportTitle.${made.kind}`), period: reportPeriod(made.kind, made.from, made.to) });
          await loadList();
        } catch (err) {
          if (gone) return;
          message.className = 'notice error';
          message.textContent = refusal(err);
        } finally {
          submit.disabled = false;
        }
      })();
    });
    return h('section', { class: 'card' }, h('h2', null, t('reports.request')), form, hint, message);
  }

  const kindSelect = h(
    'select',
    {
      name: 'kind-filter',
      onchange: () => {
        filter = isKind(kindSelect.value) ? kindSelect.value : '';
        ctx.navigate(withQuery('/reports', { kind: filter || undefined }), true);
        void loadList();
      },
    },
    h('option', { value: '' }, t('reports.kindAll')),
    KINDS.map((k) => h('option', { value: k, selected: k === filter }, t(`reportKind.${k}`))),
  );

  fill(
    root,
    h('div', { class: 'view-head' }, h('h1', null, t('reports.title')), h('button', { type: 'button', class: 'secondary', onclick: () => void loadList() }, t('reports.refresh'))),
    formBox,
    viewer,
    h('section', { class: 'card' }, h('div', { class: 'section-head' }, h('h2', null, t('reports.list'), ' ', count), h('label', { class: 'field' }, t('reports.kind'), kindSelect)), listBox),
  );

  void (async () => {
    try {
      sites = (await api.get<{ items: Site[] }>('/api/sites')).items;
    } catch {
      // compounds are then shown by id, and the form offers every visible one
    }
    if (gone) return;
    if (ctx.session.canRequestReports) fill(formBox, requestForm());
    await loadList();
  })();

  return {
    unmount() {
      gone = true;
      for (const u of urls.splice(0)) URL.revokeObjectURL(u);
    },
  };
}
