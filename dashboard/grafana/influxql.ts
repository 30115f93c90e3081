/**
 * InfluxQL panel targets. The Foundation SDK has no InfluxDB query builder; a target is any
 * builder whose `build()` gives Grafana's InfluxDB query model, here always a raw query.
 * Grafana replaces `$timeFilter`, `$__interval` and the template variables (`$site`,
 * `$device`) before the query reaches InfluxDB; test/grafana.test.ts does the same to run
 * every query against a real InfluxDB.
 */
import type { Builder, Dataquery } from '@grafana/grafana-foundation-sdk/cog';
import type { DataSourceRef } from '@grafana/grafana-foundation-sdk/common';
import { DATASOURCE } from './datasource.ts';

export type ResultFormat = 'time_series' | 'table';

export interface InfluxTarget extends Dataquery {
  refId: string;
  datasource: DataSourceRef;
  query: string;
  rawQuery: true;
  resultFormat: ResultFormat;
  /** legend name; `$tag_device` names a series by its device tag */
  alias?: string;
}

export interface QueryOptions {
  format?: ResultFormat;
  alias?: string;
}

export class InfluxQuery implements Builder<Dataquery> {
  constructor(
    private readonly refId: string,
    private readonly query: string,
    private readonly opts: QueryOptions = {},
  ) {}

  build(): InfluxTarget {
    return {
      refId: this.refId,
      datasource: DATASOURCE,
      query: this.query,
      rawQuery: true,
      resultFormat: this.opts.format ?? 'time_series',
      ...(this.opts.alias ? { alias: this.opts.alias } : {}),
      _implementsDataqueryVariant() {},
    };
  }
}

/** The target refIds in order: A, B, C, … */
export function refId(i: number): string {
  return String.fromCharCode(65 + i);
}

/** A double-quoted InfluxQL identifier. */
export function ident(name: string): string {
  return `"${name.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
}

/** A single-quoted InfluxQL string literal. */
export function literal(value: string): string {
  return `'${value.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
}

/** A tag matched against a Grafana variable: one value, several (a regex) or All (`.*`). */
export function matchVar(tag: string, variable: string): string {
  return `${ident(tag)} =~ /^$${variable}$/`;
}

/** The conditions joined with AND, the dashboard's time range last. */
export function where(...conditions: string[]): string {
  return `WHERE ${[...conditions, '$timeFilter'].join(' AND ')}`;
}
