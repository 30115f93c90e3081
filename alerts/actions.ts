/**
 * What people do with alerts, whatever the way in (the HTTP API, a signed link): read the
 * alerts they may see, acknowledge, silence. Scoping follows docs/interfaces.md ("Roles"): a
 * token sees only its sites, a department token only what is routed to its departments, and
 * anything else is "not found".
 */
import type { Role } from '../config/index.ts';
import type { AlertStore, SilenceRow } from './alert-store.ts';
import type { AuditLog } from './audit.ts';
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
    private readonly audit: AuditLog,
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

  list(actor: Actor, q: ListQuery): Promise<Alert[]> {
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

  /** An alert as it is now: open ones from the engine's book, the rest from the store. */
  private async live(id: string): Promise<Alert | undefined> {
    return this.engine.book.byId(id) ?? (await this.store.get(id));
  }

  async get(actor: Actor, id: string): Promise<Alert | undefined> {
    const a = await this.live(id);
    return a && a.state !== 'pending' && this.canSee(actor, a) ? a : undefined;
  }

  /** The recipient an operator acknowledges for: the site's property company, or its sub-district office. */
  private localOf(a: Alert): string {
    return this.engine.recipients.local(a.site) ?? 'property';
  }

  /** POST /api/alerts/:id/ack: an operator for the site's own recipient, a department for itself. */
  async ack(actor: Actor, id: string, note: string | null): Promise<AckResult> {
    const a = await this.get(actor, id);
    if (!a) return { ok: false, code: 'not_found', message: `no alert ${id}` };
    let recipients: string[];
    if (actor.role === 'viewer') return { ok: false, code: 'forbidden', message: 'a viewer token may not acknowledge' };
    if (actor.role === 'department') recipients = a.departments.filter((d) => actor.departments?.has(d));
    else if (actor.role === 'operator') recipients = [this.localOf(a)];
    else recipients = ['admin'];
    const r = await this.engine.acknowledge(a.id, recipients, actor.name, 'api', note);
    if (r === 'resolved') return { ok: false, code: 'resolved', message: 'the alert is already resolved' };
    if (r === 'already') return { ok: false, code: 'already_acknowledged', message: 'already acknowledged' };
    await this.audit.add(actor.name, 'alert.ack', a.id, note, this.now());
    return { ok: true, alert: (await this.live(id))! };
  }

  /** What a signed link points at, checked: forged, expired (the alert resolved) or reused. */
  async fromLink(token: string): Promise<{ ok: true; alert: Alert; recipient: string } | Extract<AckResult, { ok: false }>> {
    const v = this.tokens.verify(token);
    if (!v.ok) return { ok: false, code: 'forged', message: 'this link is not valid' };
    const a = await this.live(v.alertId);
    if (!a) return { ok: false, code: 'forged', message: 'this link is not valid' };
    if (a.state === 'resolved') return { ok: false, code: 'expired', message: 'the alert has resolved; the link has expired' };
    if ((await this.store.acks(a.id)).some((x) => x.department === v.recipient)) return { ok: false, code: 'reused', message: 'already acknowledged with this link' };
    return { ok: true, alert: a, recipient: v.recipient };
  }

  async ackByLink(token: string, note: string | null): Promise<AckResult> {
    const link = await this.fromLink(token);
    if (!link.ok) return link;
    const r = await this.engine.acknowledge(link.alert.id, [link.recipient], `link:${link.recipient}`, 'link', note);
    if (r === 'resolved') return { ok: false, code: 'expired', message: 'the alert has resolved; the link has expired' };
    if (r === 'already') return { ok: false, code: 'reused', message: 'already acknowledged with this link' };
    await this.audit.add(`link:${link.recipient}`, 'alert.ack', link.alert.id, note, this.now());
    return { ok: true, alert: (await this.live(link.alert.id))! };
  }

  async silences(actor: Actor): Promise<SilenceRow[]> {
    return (await this.store.silences(this.now())).filter((s) => actor.sites === null || (s.matchers.site !== undefined && actor.sites.has(s.matchers.site)));
  }

  /** A scoped operator may silence only within its sites. */
  async createSilence(actor: Actor, input: SilenceInput): Promise<SilenceRow | { error: string }> {
    if (actor.sites !== null && (input.matchers.site === undefined || !actor.sites.has(input.matchers.site))) {
      return { error: 'a silence by this token must name one of its sites' };
    }
    if (input.endsAt <= input.startsAt) return { error: 'endsAt must be after startsAt' };
    const row: SilenceRow = { id: newId(), ...input, createdBy: actor.name, createdAt: this.now() };
    await this.store.addSilence(row);
    await this.audit.add(actor.name, 'silence.create', row.id, JSON.stringify(input), this.now());
    await this.engine.silences.refresh();
    return row;
  }

  async deleteSilence(actor: Actor, id: string): Promise<boolean> {
    const s = (await this.silences(actor)).find((x) => x.id === id);
    if (!s) return false;
    await this.store.deleteSilence(id, this.now());
    await this.audit.add(actor.name, 'silence.delete', id, null, this.now());
    await this.engine.silences.refresh();
    return true;
  }
}
