/**
 * The two translations PostgreSQL needs from SQL written for SQLite, kept small on purpose:
 *
 * - placeholders: `?` becomes `$1`, `$2`, …; quoted strings, quoted identifiers and comments
 *   are left alone;
 * - migrations (DDL only): `INTEGER PRIMARY KEY AUTOINCREMENT` becomes `BIGSERIAL PRIMARY
 *   KEY`, every other `INTEGER` becomes `BIGINT` (times are ms since 1970, past int4), and a
 *   table without such an id gets a `rowid BIGSERIAL` column, what SQLite gives every table
 *   implicitly (the outbox orders and pages by it).
 *
 * The migrations themselves stay SQLite text, so an existing SQLite file sees exactly what
 * it saw before.
 */

/** Rewrites `?` to `$n`. */
export function toDollar(sql: string): string {
  let out = '';
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
    } else {
      out += c;
      i++;
    }
  }
  return out;
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
