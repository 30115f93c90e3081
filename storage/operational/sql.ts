/**
 * The two translations PostgreSQL needs from SQL written for SQLite, kept small on purpose:
 *
 * - placeholders: `?` (positional) and `@name` (from an object) become `$1`, `$2`, …;
 *   quoted strings, quoted identifiers and comments are left alone;
 * - migrations (DDL only): `INTEGER PRIMARY KEY AUTOINCREMENT` becomes `BIGSERIAL PRIMARY
 *   KEY`, every other `INTEGER` becomes `BIGINT` (times are ms since 1970, past int4), and a
 *   table without such an id gets a `rowid BIGSERIAL` column, what SQLite gives every table
 *   implicitly (the outbox orders and pages by it).
 *
 * The migrations themselves stay the SQLite text that was released, so an existing SQLite
 * file sees exactly what it saw before.
 */

export interface Placeholders {
  sql: string;
  /** for `@name` placeholders: the object key of $1, $2, …; empty for `?` */
  names: string[];
  /** number of `?` placeholders */
  positional: number;
}

/** Rewrites `?` / `@name` to `$n`. Mixing both in one statement is refused. */
export function toDollar(sql: string): Placeholders {
  let out = '';
  const names: string[] = [];
  const index = new Map<string, number>();
  let positional = 0;
  let i = 0;
  while (i < sql.length) {
    const c = sql[i]!;
    if (c === "'" || c === '"') {
      const end = closing(sql, i, c);
      out += sql.slice(i, end);
      i = end;
    } else if (c === '-' && sql[i + 1] === '-') {
      const end = sql.indexOf('\n', i);
      const stop = end < 0 ? sql.length : end;
      out += sql.slice(i, stop);
      i = stop;
    } else if (c === '?') {
      out += `$${++positional}`;
      i++;
    } else if (c === '@' && /[A-Za-z_]/.test(sql[i + 1] ?? '')) {
      const m = /^[A-Za-z_][A-Za-z0-9_]*/.exec(sql.slice(i + 1))!;
      const name = m[0];
      let n = index.get(name);
      if (n === undefined) {
        names.push(name);
        n = names.length;
        index.set(name, n);
      }
      out += `$${n}`;
      i += 1 + name.length;
    } else {
      out += c;
      i++;
    }
  }
  if (positional > 0 && names.length > 0) throw new Error(`operational store: ? and @name placeholders mixed in: ${sql}`);
  return { sql: out, names, positional };
}

/** Index just past the quote that closes the one at `start` (a doubled quote escapes). */
function closing(sql: string, start: number, q: string): number {
  let i = start + 1;
  while (i < sql.length) {
    if (sql[i] === q) {
      if (sql[i + 1] === q) i += 2;
      else return i + 1;
    } else i++;
  }
  return sql.length;
}

/** A migration written for SQLite, as PostgreSQL must run it (see the file's comment). */
export function migrationForPostgres(sql: string): string {
  return sql
    .replace(/CREATE TABLE (\w+) \(([\s\S]*?)\n\s*\);/g, (whole, name: string, body: string) =>
      /INTEGER PRIMARY KEY AUTOINCREMENT/.test(body) ? whole : `CREATE TABLE ${name} (\n    rowid BIGSERIAL NOT NULL,${body}\n  );`,
    )
    .replace(/\bINTEGER PRIMARY KEY AUTOINCREMENT\b/g, 'BIGSERIAL PRIMARY KEY')
    .replace(/\bINTEGER\b/g, 'BIGINT');
}
