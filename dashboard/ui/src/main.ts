/**
 * The web UI's entry: the shell (navigation, live indicator, language switch, sign-out),
 * the router over the History API, and the session. zh-CN unless the user chose English,
 * which is remembered in localStorage; the token lives in sessionStorage (session.ts).
 */
import { fill, h } from './dom.ts';
import { isLang, lang, setLang, t } from './i18n.ts';
import type { LiveState } from './live.ts';
import { paths, route, type Route } from './router.ts';
import { forgetToken, signIn, stored, type Session } from './session.ts';
import { ApiError } from './api.ts';
import { errorBox, type View, type ViewContext } from './views/common.ts';
import { loginView } from './views/login.ts';
import { overviewView } from './views/overview.ts';
import { compoundView } from './views/compound.ts';
import { alertsView } from './views/alerts.ts';
import { ingestView } from './views/ingest.ts';
import { reportsView } from './views/reports.ts';
import { deliveriesView } from './views/deliveries.ts';

const LANG_KEY = 'estate-sentinel.lang';
const app = document.getElementById('app')!;

let session: Session | null = null;
let view: View | undefined;
let mounted = 0;
let afterLogin = '/';
const header = h('header', { class: 'top' });
const main = h('main', { id: 'main' });
const liveSlot = h('span', { class: 'live', role: 'status', hidden: true });

try {
  const saved = localStorage.getItem(LANG_KEY);
  if (isLang(saved)) setLang(saved);
} catch {
  // no storage: zh-CN
}
document.documentElement.lang = lang();

function setLive(s: LiveState | null): void {
  if (!s) {
    liveSlot.hidden = true;
    return;
  }
  liveSlot.hidden = false;
  liveSlot.dataset.state = s.state;
  const text = s.state === 'unavailable' ? t('live.unavailable', { message: s.message }) : t(`live.${s.state}`);
  fill(liveSlot, h('span', { class: 'dot' }), text);
}

function navigate(path: string, replace = false): void {
  if (replace) {
    history.replaceState(null, '', path);
    return;
  }
  history.pushState(null, '', path);
  void render();
}

function signOut(expired: boolean): void {
  session = null;
  forgetToken();
  if (location.pathname !== '/login') afterLogin = location.pathname + location.search;
  history.replaceState(null, '', '/login');
  void render(expired);
}

function switchLang(): void {
  setLang(lang() === 'zh-CN' ? 'en' : 'zh-CN');
  try {
    localStorage.setItem(LANG_KEY, lang());
  } catch {
    // not remembered; still switched
  }
  document.documentElement.lang = lang();
  void render();
}

function renderHeader(r: Route): void {
  const s = session;
  const link = (href: string, text: string, active: boolean, id: string) => h('a', { href, 'data-nav': id, 'aria-current': active ? 'page' : null }, text);
  fill(
    header,
    h('a', { class: 'brand', href: '/' }, h('span', { class: 'logo', 'aria-hidden': 'true' }, '◆'), t('app.name')),
    s
      ? h(
          'nav',
          null,
          link(paths.overview(), t('nav.overview'), r.view === 'overview' || r.view === 'compound' || r.view === 'device', 'overview'),
          link(paths.alerts(), t('nav.alerts'), r.view === 'alerts', 'alerts'),
          link(paths.reports(), t('nav.reports'), r.view === 'reports', 'reports'),
          s.role === 'admin' || s.role === 'operator' ? link(paths.deliveries(), t('nav.deliveries'), r.view === 'deliveries', 'deliveries') : null,
          s.canSeeIngest ? link(paths.ingest(), t('nav.ingest'), r.view === 'ingest', 'ingest') : null,
        )
      : h('span', { class: 'grow' }),
    liveSlot,
    s ? h('span', { class: 'badge role', 'data-role': s.role }, t(`role.${s.role}`)) : null,
    h('button', { type: 'button', class: 'link lang', title: t('nav.switchLangTitle'), 'data-testid': 'switch-lang', lang: lang() === 'zh-CN' ? 'en' : 'zh-CN', onclick: switchLang }, t('nav.switchLang')),
    s ? h('button', { type: 'button', class: 'link', 'data-testid': 'sign-out', onclick: () => signOut(false) }, t('nav.logout')) : null,
  );
}

async function render(expired = false): Promise<void> {
  const ticket = ++mounted;
  view?.unmount();
  view = undefined;
  setLive(null);
  const r = route(location.pathname);
  renderHeader(r);
  if (!session) {
    if (r.view !== 'login') afterLogin = location.pathname + location.search;
    view = loginView(main, {
      expired,
      onSignedIn: (s) => {
        session = s;
        const to = afterLogin.startsWith('/login') ? '/' : afterLogin;
        afterLogin = '/';
        history.replaceState(null, '', to);
        void render();
      },
      onUnauthorized: () => signOut(true),
    });
    return;
  }
  if (r.view === 'login') {
    history.replaceState(null, '', '/');
    return render();
  }
  const ctx: ViewContext = {
    session,
    query: new URLSearchParams(location.search),
    navigate,
    setTitle: (title) => (document.title = `${title} · ${t('app.name')}`),
    setLive,
    signOut,
  };
  switch (r.view) {
    case 'overview':
      view = overviewView(main, ctx);
      break;
    case 'compound':
      view = compoundView(main, ctx, r.site);
      break;
    case 'device': {
      // The chart library loads with the device view only.
      const { deviceView } = await import('./views/device.ts');
      if (ticket !== mounted) return;
      view = deviceView(main, ctx, r.device);
      break;
    }
    case 'alerts':
      view = alertsView(main, ctx);
      break;
    case 'ingest':
      view = ingestView(main, ctx);
      break;
    case 'reports':
      view = reportsView(main, ctx);
      break;
    case 'deliveries':
      view = deliveriesView(main, ctx);
      break;
    default:
      fill(main, h('p', { class: 'notice' }, t('error.notFound'), ' ', h('a', { href: '/' }, t('nav.overview'))));
  }
  window.scrollTo(0, 0);
}

// Links inside the app change the view without reloading the page.
document.addEventListener('click', (e) => {
  if (e.defaultPrevented || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
  const a = (e.target as Element | null)?.closest?.('a');
  if (!a || a.target || a.hasAttribute('download')) return;
  const url = new URL(a.href, location.href);
  if (url.origin !== location.origin || /^\/(api|ack|socket\.io)\//.test(url.pathname)) return;
  e.preventDefault();
  if (url.pathname + url.search !== location.pathname + location.search) navigate(url.pathname + url.search);
});
window.addEventListener('popstate', () => void render());

async function boot(): Promise<void> {
  fill(app, header, main);
  const kept = stored();
  if (kept) {
    try {
      session = await signIn(kept.token, () => signOut(true), kept.role);
    } catch (err) {
      if (err instanceof ApiError && err.status === 401) {
        forgetToken();
        return render(true);
      }
      renderHeader(route(location.pathname));
      fill(main, errorBox(err, () => void boot()));
      return;
    }
  }
  await render();
}

void boot();
