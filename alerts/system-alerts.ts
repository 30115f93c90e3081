/**
 * The service's own alerts (docs/alerts.md, "Outages"): the series store or the broker away past
 * its grace, the operational store refusing changes, the spool near full or full, a channel that
 * fails for good, the series store's cap on a tag's values. Keys are `estate/system/<rule>[suffix]`;
 * they go to the operators, or to every site's own recipient (notify/). The engine calls `tick`
 * from its 1-s clock.
 */
import type { Severity } from '../config/index.ts';
import type { BusEvents } from '../bus.ts';
import type { Applier } from './apply.ts';
import type { AlertBook } from './book.ts';
import type { Committer } from './commit.ts';
import * as life from './lifecycle.ts';
import { summarize, tagLimitSummary } from './summary.ts';
import { STORE_TAG_LIMIT, TagLimits, tagLimitSuffix } from './tag-limits.ts';
import type { Alert, LocalizedText } from './types.ts';

/** `spool_near_full` is raised at this share of SPOOL_MAX_BYTES and resolved below SPOOL_NEAR_FULL_CLEAR. */
export const SPOOL_NEAR_FULL = 0.8;
export const SPOOL_NEAR_FULL_CLEAR = 0.7;

export interface SystemAlertDeps {
  committer: Committer;
  book: AlertBook;
  applier: Applier;
  now: () => number;
  /** how long the store or broker may be away before a system alert, ms */
  outageGraceMs?: { store: number; broker: number; ops: number };
  /** the spool's size and cap, for `spool_near_full` and `spool_full` (docs/ingest.md) */
  spool?: () => { bytes: number; maxBytes: number };
}

const systemKey = (rule: string, suffix = '') => `estate/system/${rule}${suffix}`;

export class SystemAlerts {
  private brokerDownSince: number | null = null;
  private storeDownSince: number | null = null;
  private storeError = '';
  private readonly tagLimits = new TagLimits();

  constructor(private readonly deps: SystemAlertDeps) {}

  /** An open system alert found at a start: a measurement's tag-limit alert resumes its clock. */
  restore(a: Alert, now: number): void {
    if (a.rule === STORE_TAG_LIMIT) this.tagLimits.restore(a.key, now);
  }

  /** The broker lost (pending from the first moment, so that inhibitions hold back what the outage causes at once) or back. */
  onBroker(up: boolean): void {
    if (up) {
      this.brokerDownSince = null;
      this.clear('broker_down');
    } else {
      this.brokerDownSince ??= this.deps.now();
      this.raise('broker_down', '', '', 'critical', true);
    }
  }

  onStore(up: boolean, error?: string): void {
    if (up) {
      this.storeDownSince = null;
      this.clear('store_down');
    } else {
      this.storeDownSince ??= this.deps.now();
      this.storeError = error ?? '';
      this.raise('store_down', this.storeError, '', 'critical', true);
    }
  }

  /**
   * The operational store refused alert changes (they wait, and the messages that caused them
   * stay unacknowledged). Nothing can be written while it refuses; once it takes changes again,
   * an outage longer than its grace is recorded and announced to the operators, with how long it lasted.
   */
  onOpsStore(up: boolean, error: string, downMs: number): void {
    if (!up) {
      this.storeError = error;
      return;
    }
    const grace = this.deps.outageGraceMs?.ops ?? 10_000;
    if (downMs < grace) return;
    const detail = `${Math.round(downMs / 1000)} s${this.storeError ? `: ${this.storeError}` : ''}`;
    const { applier } = this.deps;
    void this.deps.committer
      .submit(
        (w) => {
          const key = systemKey('ops_store_down');
          if (w.get(key)) return;
          const raised = applier.apply(w, life.raise(undefined, this.opening('ops_store_down', key), this.condition('ops_store_down', detail, 'critical'), applier.ctx(w, key)));
          applier.apply(w, life.resolve(raised, w.now));
        },
        { retry: true },
      )
      .catch(() => undefined);
  }

  /**
   * The series store refused lines for a tag's cap on values: the measurement's alert, naming the
   * setting that lifts the cap, raised at the first refusal; each later one puts off its
   * resolution (tick, alerts/tag-limits.ts).
   */
  onTagLimit(e: BusEvents['store.tag_limit']): void {
    if (this.tagLimits.refused(e.measurement, this.deps.now())) this.raise(STORE_TAG_LIMIT, tagLimitSummary(e), tagLimitSuffix(e.measurement));
  }

  /** `pending`: held until its grace has run (tick). */
  raise(rule: string, detail: string | LocalizedText, keySuffix = '', severity: Severity = 'critical', pending = false): void {
    const key = systemKey(rule, keySuffix);
    void this.deps.committer
      .submit(
        (w) => {
          const cur = w.get(key);
          if (cur && (pending || cur.state !== 'pending')) return;
          this.deps.applier.outcome(w, { opening: this.opening(rule, key), clear: false, condition: this.condition(rule, detail, pending ? 'pending' : severity) });
        },
        { retry: true },
      )
      .catch(() => undefined);
  }

  clear(rule: string, keySuffix = ''): void {
    const key = systemKey(rule, keySuffix);
    if (!this.deps.book.get(key) && this.deps.committer.waiting === 0) return;
    void this.deps.committer.submit((w) => this.deps.applier.outcome(w, { opening: this.opening(rule, key), clear: true }), { retry: true }).catch(() => undefined);
  }

  /** What the clock decides each second: outages past their grace, the spool against its cap, tag limits gone quiet. */
  tick(now: number): void {
    const grace = this.deps.outageGraceMs ?? { store: 30_000, broker: 15_000, ops: 10_000 };
    if (this.storeDownSince !== null && now - this.storeDownSince >= grace.store) this.raise('store_down', this.storeError);
    if (this.brokerDownSince !== null && now - this.brokerDownSince >= grace.broker) this.raise('broker_down', '');
    this.checkSpool();
    for (const m of this.tagLimits.quiet(now)) this.clear(STORE_TAG_LIMIT, tagLimitSuffix(m));
  }

  /** The spool against its cap: near full at 80 %, full at the cap; each resolved once it drains. */
  private checkSpool(): void {
    const s = this.deps.spool?.();
    if (!s) return;
    const share = s.bytes / s.maxBytes;
    const size = (b: number) => (b >= 1024 ** 2 ? `${Math.round(b / 1024 ** 2)} MiB` : `${Math.round(b / 1024)} KiB`);
    const detail = `${size(s.bytes)} / ${size(s.maxBytes)}`;
    const open = (rule: string) => this.deps.book.get(systemKey(rule)) !== undefined;
    if (share >= SPOOL_NEAR_FULL) {
      if (!open('spool_near_full')) this.raise('spool_near_full', detail, '', 'warning');
    } else if (share < SPOOL_NEAR_FULL_CLEAR && open('spool_near_full')) this.clear('spool_near_full');
    if (s.bytes >= s.maxBytes) {
      if (!open('spool_full')) this.raise('spool_full', detail);
    } else if (open('spool_full')) this.clear('spool_full');
  }

  private opening(rule: string, key: string): life.Opening {
    return { key, site: '', siteName: '', building: '', device: 'system', kind: 'system', rule, metric: null, unit: null, source: 'Estate Sentinel', housekeeping: false };
  }

  /** `detail`: the text in the summary's brackets, or the whole summary in both languages. */
  private condition(rule: string, detail: string | LocalizedText, severity: Severity | 'pending'): life.Condition {
    const summary = typeof detail === 'string' ? summarize({ kind: 'system', device: 'system', building: '', rule, metric: null, value: null, threshold: null, detail }) : detail;
    return { severity, since: this.deps.now(), value: null, threshold: null, summary };
  }
}
