/** What several views show the same way: errors, badges of state and severity, an alert's flags. */
import { ApiError, type Alert, type DeviceState, type Severity, type Site } from '../api.ts';
import { h } from '../dom.ts';
import { t, departmentLabel } from '../i18n.ts';
import type { LiveState } from '../live.ts';
import type { Session } from '../session.ts';
import { dateTime } from '../format.ts';

export interface ViewContext {
  session: Session;
  query: URLSearchParams;
  navigate(path: string, replace?: boolean): void;
  setTitle(title: string): void;
  /** the shell's indicator of live updates */
  setLive(state: LiveState | null): void;
  /** the token was refused: back to the login */
  signOut(expired: boolean): void;
}

export interface View {
  unmount(): void;
}

/** What went wrong, in words for people. */
export function describeError(err: unknown): string {
  if (err instanceof ApiError) {
    if (err.status === 0) return t('error.network');
    if (err.status === 404) return t('error.notFound');
    if (err.status === 403) return t('error.forbidden');
    return t('error.generic', { message: err.message });
  }
  return t('error.generic', { message: err instanceof Error ? err.message : String(err) });
}

/** What went wrong when the API refused a request it understood (400, 404, 409): its own message, which says why (`a report covers at most 400 days`). */
export function refusal(err: unknown): string {
  if (err instanceof ApiError && (err.status === 400 || err.status === 404 || err.status === 409) && err.message) return t('error.refused', { message: err.message });
  return describeError(err);
}

export function errorBox(err: unknown, retry?: () => void): HTMLElement {
  return h('div', { class: 'notice error', role: 'alert' }, describeError(err), retry ? h('button', { type: 'button', class: 'link', onclick: retry }, t('error.retry')) : null);
}

export function loading(): HTMLElement {
  return h('p', { class: 'muted loading' }, t('app.loading'));
}

export function stateBadge(state: DeviceState): HTMLElement {
  return h('span', { class: `badge state-${state}` }, t(`state.${state}`));
}

export function severityBadge(s: Severity): HTMLElement {
  return h('span', { class: `badge sev-${s}` }, t(`severity.${s}`));
}

/** What holds an alert back, by the rule of the alert that does (its key is site/device/rule; docs/alerts.md, "Inhibit"). */
function inhibitedWhy(sourceKey: string): string {
  const rule = sourceKey.slice(sourceKey.lastIndexOf('/') + 1);
  if (rule === 'trapped') return t('alerts.inhibitedTrapped');
  if (rule === 'site_offline' || rule === 'broker_down' || rule === 'store_down' || rule === 'ops_store_down') return t('alerts.inhibited');
  return t('alerts.inhibitedBy');
}

/** State, escalation, muting and flapping of an alert, as badges. */
export function alertFlags(a: Alert): HTMLElement[] {
  const out = [h('span', { class: `badge alert-${a.state}`, 'data-state': a.state }, t(`alertState.${a.state}`))];
  if (a.escalatedAt && a.state !== 'resolved') out.push(h('span', { class: 'badge escalated', title: t('alerts.escalatedAt', { when: dateTime(a.escalatedAt) }) }, t('alerts.escalated')));
  if (a.mutedBy) {
    const why = a.mutedBy === 'inspection' ? t('alerts.mutedInspection') : a.mutedBy.startsWith('inhibited:') ? inhibitedWhy(a.mutedBy.slice('inhibited:'.length)) : t('alerts.muted');
    out.push(h('span', { class: 'badge muted', title: a.mutedBy }, why));
  }
  if (a.flapping) out.push(h('span', { class: 'badge flapping' }, t('alerts.flapping')));
  if (a.housekeeping) out.push(h('span', { class: 'badge housekeeping' }, t('alerts.housekeeping')));
  return out;
}

/** Who answers on site: the property company, or the sub-district office where there is none. */
export function localLabel(s: Site): string {
  if (s.property) return t('overview.property', { name: s.property.name });
  if (s.subdistrict) return t('overview.subdistrict', { name: s.subdistrict.name });
  return t('overview.noLocal');
}

/** Where an alert is: the compound, building and device (a link); a whole compound for a site's outage. */
export function alertPlace(a: Alert, deviceHref: (id: string) => string): HTMLElement | string {
  if (a.kind === 'system') return a.siteName || '—';
  if (a.kind === 'site') {
    const n = a.devices?.length ?? 0;
    return h('span', { title: a.devices?.join(', ') ?? '' }, a.siteName, ' · ', t('kind.site'), n ? ` · ${t('alerts.siteDevices', { n })}` : '');
  }
  return h('span', null, a.siteName, ' · ', a.building, ' · ', h('a', { href: deviceHref(a.device) }, a.device));
}

/** Who acknowledged and when, the deadline while it waits, escalation and resolution. */
export function ackText(a: Alert): HTMLElement {
  const lines: (string | HTMLElement)[] = [];
  if (a.ackedAt) lines.push(h('span', { class: 'acked-by' }, t('alerts.ackedBy', { who: a.ackedBy ?? '?', when: dateTime(a.ackedAt) })));
  if (a.ackNote) lines.push(h('q', { class: 'ack-note' }, a.ackNote));
  if (!a.ackedAt && a.ackDeadline && a.state === 'firing') lines.push(h('span', { class: 'muted' }, t('alerts.ackDeadline', { when: dateTime(a.ackDeadline) })));
  if (a.escalatedAt) lines.push(h('span', { class: 'muted' }, t('alerts.escalatedAt', { when: dateTime(a.escalatedAt) })));
  if (a.endsAt) lines.push(h('span', { class: 'muted' }, t('alerts.resolvedAt', { when: dateTime(a.endsAt) })));
  // Who was told: not every recipient it was routed to (a held-back alert told nobody yet).
  const told = a.notified ?? a.departments;
  if (told.length) lines.push(h('span', { class: 'muted small' }, t('alerts.notified', { list: told.map((d) => departmentLabel(d)).join('、') })));
  return h('div', { class: 'stack' }, lines);
}

/** Runs `fn` once, `ms` after the first call since it last ran: a burst of calls costs one run. */
export function coalesce(fn: () => void, ms: number): { (): void; cancel(): void } {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const call = () => {
    timer ??= setTimeout(() => {
      timer = undefined;
      fn();
    }, ms);
  };
  call.cancel = () => {
    clearTimeout(timer);
    timer = undefined;
  };
  return call;
}
