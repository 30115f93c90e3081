/**
 * Operational store migrations, applied in order; the index + 1 is the schema version.
 * Never edit a released migration: add the next one.
 */
export const MIGRATIONS: readonly string[] = [
  // 1: ingest
  `
  CREATE TABLE ingest_rejects (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    at INTEGER NOT NULL,
    reason TEXT NOT NULL,
    site TEXT,                -- from the topic, where it names one; for scoped tokens
    topic TEXT NOT NULL,
    detail TEXT NOT NULL,
    payload TEXT NOT NULL
  );
  CREATE INDEX ingest_rejects_reason ON ingest_rejects (reason, id);
  CREATE INDEX ingest_rejects_site ON ingest_rejects (site, id);
  CREATE TABLE unregistered_devices (
    device TEXT NOT NULL,
    site TEXT NOT NULL,
    kind TEXT NOT NULL,
    topic TEXT NOT NULL,
    first_seen INTEGER NOT NULL,
    last_seen INTEGER NOT NULL,
    count INTEGER NOT NULL,
    reason TEXT NOT NULL,
    PRIMARY KEY (device, site, kind)
  );
  `,
];
