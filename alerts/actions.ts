/**
 * What people do with alerts, whatever the way in (the HTTP API, a signed link): read the
 * alerts they may see, acknowledge, silence. Scoping follows CONTRACT section 5: a token sees
 * only its sites, a department token only what is routed to its departments, and anything
 * else is "not found".
 */
import type { Role } from '../config/index.ts';
import type { AlertStore, SilenceRow } from './alert-store.ts';
import type { AlertEngine } from './engine.ts';
import { newId } from './ids.ts';
import type { Alert } from './types.ts';

/** Who acts: a token's principal. */
export interface Actor {
  name: string;
  role: Role;
  sites: ReadonlySet<string> | null;
  departments: ReadonlySet<string> | null;
}

export interface AckTokens {
  sign(alertId: string, recipient: string): string;
  verify(token: string): { ok: true; alertId: string; recipient: string } | { ok: false; code: string };
}

export type AckResult =
  | { ok: true; alert: Alert }
  | { ok: false; code: 'not_found' | 'forbidden' | 'already_acknowledged' | 'resolved' | 'forged' | 'expired' | 'reused'; message: string };

export interface ListQuery {
  state: 'active' | 'all';
  site?: string;
  department?: string;
  from?: number;
  to?: number;
  limit: number;
}

export interface SilenceInput {
  matchers: SilenceRow['matchers'];
  startsAt: number;
  endsAt: number;
  comment: string;
}

export class AlertActions {
  constructor(
    private readonly engine: AlertEngine,
    private readonly store: AlertStore,
    readonly tokens: AckTokens,
    private readonly now: () => number = Date.now,
  ) {}

  /** May this actor see this alert? */
  canSee(actor: Actor, a: Alert): boolean {
    if (actor.role === 'admin' && actor.sites === null) return true;
    if (actor.role === 'department') return a.departments.some((d) => actor.departments?.has(d));
    if (actor.sites === null) return true;
    return actor.sites.has(a.site);
  }

  list(actor: Actor, q: ListQuery): Alert[] {
    const departments = actor.role === 'department' ? [...(actor.departments ?? [])] : undefined;
    const filterDepartments = q.department !== undefined ? (departments ? departments.filter((d) => d === q.department) : [q.department]) : departments;
    return this.store.list({
      state: q.state,
      limit: q.limit,
      ...(actor.role !== 'department' && actor.sites ? { sites: [...actor.sites] } : {}),
      ...(filterDepartments ? { departments: filterDepartments } : {}),
      ...(q.site !== undefined ? { site: q.site } : {}),
      ...(q.from !== undefined ? { from: q.from } : {}),
      ...(q.to !== undefined ? { to: q.to } : {}),
    });
  }

  get(actor: Actor, id: string): Alert | undefined {
    const a = this.engine.book.all().find((x) => x.id === id) ?? this.store.get(id);
    return a && a.state !== 'pending' && this.canSee(actor, a) ? a : undefined;
  }

  private live(id: string): Alert | undefined {
    return this.engine.book.all().find((x) => x.id === id) ?? this.store.get(id);
  }

  /** POST /api/alerts/:id/ack: an operator for the property company, a department for itself. */
  ack(actor: Actor, id: string, note: string | null): AckResult {
    const a = this.get(actor, id);
    if (!a) return { ok: false, code: 'not_found', message: `no alert ${id}` };
    let recipients: string[];
    if (actor.role === 'viewer') return { ok: false, code: 'forbidden', message: 'a viewer token may not acknowledge' };
    if (actor.role === 'department') recipients = a.departments.filter((d) => actor.departments?.has(d));
    else if (actor.role === 'operator') recipients = ['property'];
    else recipients = ['admin'];
    const r = this.engine.book.acknowledge(a, recipients, actor.name, 'api', note);
    if (r === 'resolved') return { ok: false, code: 'resolved', message: 'the alert is already resolved' };
    if (r === 'already') return { ok: false, code: 'already_acknowledged', message: 'already acknowledged' };
    this.store.audit(actor.name, 'alert.ack', a.id, note);
    return { ok: true, alert: this.live(id)! };
  }

  /** What a signed link points at, checked: forged, expired (the alert resolved) or reused. */
  fromLink(token: string): { ok: true; alert: Alert; recipient: string } | Extract<AckResult, { ok: false }> {
    const v = this.tokens.verify(token);
    if (!v.ok) return { ok: false, code: 'forged', message: 'this link is not valid' };
    const a = this.live(v.alertId);
    if (!a) return { ok: false, code: 'forged', message: 'this link is not valid' };
    if (a.state === 'resolved') return { ok: false, code: 'expired', message: 'the alert has resolved; the link has expired' };
    if (this.store.acks(a.id).some((x) => x.department === v.recipient)) return { ok: false, code: 'reused', message: 'already acknowledged with this link' };
    return { ok: true, alert: a, recipient: v.recipient };
  }

  ackByLink(token: string, note: string | null): AckResult {
    const link = this.fromLink(token);
    if (!link.ok) return link;
    const r = this.engine.book.acknowledge(link.alert, [link.recipient], `link:${link.recipient}`, 'link', note);
    if (r === 'resolved') return { ok: false, code: 'expired', message: 'the alert has resolved; the link has expired' };
    if (r === 'already') return { ok: false, code: 'reused', message: 'already acknowledged with this link' };
    this.store.audit(`link:${link.recipient}`, 'alert.ack', link.alert.id, note);
    return { ok: true, alert: this.live(link.alert.id)! };
  }

  silences(actor: Actor): SilenceRow[] {
    return this.store.silences(this.now()).filter((s) => actor.sites === null || (s.matchers.site !== undefined && actor.sites.has(s.matchers.site)));
  }

  /** A scoped operator may silence only within its sites. */
  createSilence(actor: Actor, input: SilenceInput): SilenceRow | { error: string } {
    if (actor.sites !== null && (input.matchers.site === undefined || !actor.sites.has(input.matchers.site))) {
      return { error: 'a silence by this token must name one of its sites' };
    }
    if (input.endsAt <= input.startsAt) return { error: 'endsAt must be after startsAt' };
    const row: SilenceRow = { id: newId(), ...input, createdBy: actor.name, createdAt: this.now() };
    this.store.addSilence(row);
    this.store.audit(actor.name, 'silence.create', row.id, JSON.stringify(input));
    this.engine.muting.refresh();
    return row;
  }

  deleteSilence(actor: Actor, id: string): boolean {
    const s = this.silences(actor).find((x) => x.id === id);
    if (!s) return false;
    this.store.deleteSilence(id, this.now());
    this.store.audit(actor.name, 'silence.delete', id, null);
    this.engine.muting.refresh();
    return true;
  }
}
