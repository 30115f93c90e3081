/**
 * The time-series side of storage: what ingest writes and what the API, alerts and
 * reports read, whatever the database behind it (InfluxDB over its v1 HTTP API, or the
 * embedded SQLite store).
 */

export type FieldValue = number | boolean | string;

/** One point of docs/interfaces.md#stored-series: a measurement, its tags, its fields, a time in ms. */
export interface Point {
  readonly measurement: string;
  readonly tags: Readonly<Record<string, string>>;
  readonly fields: Readonly<Record<string, FieldValue>>;
  readonly ts: number;
}

export interface SeriesQuery {
  measurement: string;
  device: string;
  metric: string;
  from: number;
  to: number;
  stepMs: number;
}

export interface SeriesBucket {
  /** start of the step, ms */
  t: number;
  mean: number;
  min: number;
  max: number;
}

export interface LatestValues {
  /** time of the newest point of the device, ms */
  ts: number;
  fields: Record<string, FieldValue>;
}

/** What `aggregate` computes over a group's points; `spread` is max − min. */
export type AggregateFn = 'count' | 'sum' | 'mean' | 'min' | 'max' | 'spread' | 'first' | 'last';

/** A condition on a field of the same point (InfluxQL's field conditions); a boolean compares with `=` or `!=` only. */
export interface FieldCondition {
  field: string;
  op: '<' | '<=' | '>' | '>=' | '=' | '!=';
  value: number | boolean;
}

/**
 * One aggregation in the database: `fns` of `field` over the points of `measurement` in
 * [from, to), optionally limited to some devices, to tag values (`tags`, e.g. `{kind:
 * 'elevator'}`) and to points whose fields meet every condition of `where`; grouped by tags
 * (`groupBy`, e.g. `['device']`; the series of one device are merged) and, with `stepMs`, by
 * time: steps start at epoch multiples of `stepMs` shifted by `offsetMs` (a Shanghai day is
 * `stepMs` 86 400 000 with `offsetMs` 57 600 000). Only `count`, `first` and `last` apply to a
 * boolean field (first/last give it as 1/0); the other functions on a boolean or string
 * field are refused with a `StoreWriteError` that is not worth retrying.
 */
export interface AggregateQuery {
  measurement: string;
  field: string;
  fns: readonly AggregateFn[];
  from: number;
  to: number;
  devices?: readonly string[];
  tags?: Readonly<Record<string, string>>;
  where?: readonly FieldCondition[];
  groupBy?: readonly string[];
  stepMs?: number;
  offsetMs?: number;
}

/** One group (and step) with at least one point; groups without points are left out. */
export interface AggregateRow {
  /** the value of each `groupBy` tag ('' where a point has none) */
  group: Record<string, string>;
  /** start of the step, ms; 0 without `stepMs` */
  t: number;
  values: Partial<Record<AggregateFn, number>>;
}

/** The order of `aggregate`'s rows in both stores: by the group's tag values, then by time. */
export function compareRows(groupBy: readonly string[]) {
  return (a: AggregateRow, b: AggregateRow): number => {
    for (const tag of groupBy) {
      const x = a.group[tag] ?? '';
      const y = b.group[tag] ?? '';
      if (x !== y) return x < y ? -1 : 1;
    }
    return a.t - b.t;
  };
}

/**
 * A line refused because its measurement already has as many values of one of its tags as the
 * store allows: the store is capped, the line itself is sound (InfluxDB 1.x's
 * `[data] max-values-per-tag`; storage/influx/tag-limit.ts).
 */
export interface TagLimit {
  measurement: string;
  tag: string;
  /** the refused line's value of that tag */
  value: string;
  /** the store's cap on values per tag and measurement */
  limit: number;
  /** the store's setting for the cap: its configuration file's name, its environment variable's, and the value that lifts it */
  setting: { readonly file: string; readonly env: string; readonly unlimited: number };
}

/** An encoded line the store refused for good (a type conflict, say): it goes to the reject log. */
export interface RejectedLine {
  line: string;
  reason: string;
  /** set when the store refused it for a tag's cap on values rather than for the line */
  tagLimit?: TagLimit;
}

/** Why a write failed, and whether it is worth trying again. */
export class StoreWriteError extends Error {
  constructor(
    message: string,
    readonly retriable: boolean,
    readonly status?: number,
  ) {
    super(message);
    this.name = 'StoreWriteError';
  }
}

export interface SeriesStore {
  /** 'influx' or 'embedded'; the spool keeps each kind's lines apart */
  readonly kind: string;
  /** Encodes a point as one line of the store's wire format (no newline inside). Throws on a point it cannot carry. */
  encode(point: Point): string;
  /**
   * Writes encoded lines. Resolves with the lines refused for good (they are not retried);
   * rejects with a `StoreWriteError` when nothing can be said about the batch (down, 5xx).
   * Writing the same line twice is harmless: the same point is overwritten.
   */
  writeLines(lines: readonly string[]): Promise<RejectedLine[]>;
  /**
   * The same for a batch already in bytes: `count` records, each followed by a newline,
   * as the spool holds them, in one buffer or several back to back. The hot path: no copy
   * back to text unless something is refused.
   */
  writeBatch(body: Buffer | readonly Buffer[], count: number): Promise<RejectedLine[]>;
  /** Latest value of each field per device of one measurement. */
  latest(measurement: string, devices?: readonly string[]): Promise<Map<string, LatestValues>>;
  /** One metric of one device, downsampled to `stepMs`; empty steps are left out. */
  series(q: SeriesQuery): Promise<SeriesBucket[]>;
  /** Number of points with `field` set, optionally for one device, within [from, to). */
  count(measurement: string, field: string, opts?: { device?: string; from?: number; to?: number }): Promise<number>;
  /** Aggregates in the database (see `AggregateQuery`); rows ordered by group, then time. */
  aggregate(q: AggregateQuery): Promise<AggregateRow[]>;
  /** True when the store answers. */
  ping(): Promise<boolean>;
  /** Creates what the store needs (the database) when missing. */
  init(): Promise<void>;
  close(): Promise<void>;
}
