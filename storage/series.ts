/**
 * The time-series side of storage: what ingest writes and what the API, alerts and
 * reports read, whatever the database behind it (InfluxDB over its v1 HTTP API, or the
 * embedded SQLite store).
 */

export type FieldValue = number | boolean | string;

/** One point of CONTRACT section 3: a measurement, its tags, its fields, a time in ms. */
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

/** An encoded line the store refused for good (a type conflict, say): it goes to the reject log. */
export interface RejectedLine {
  line: string;
  reason: string;
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
  /** True when the store answers. */
  ping(): Promise<boolean>;
  /** Creates what the store needs (the database) when missing. */
  init(): Promise<void>;
  close(): Promise<void>;
}
