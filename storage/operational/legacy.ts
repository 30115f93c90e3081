/**
 * Stores made before each part kept its own schema version had one list of migrations for
 * all: 1 made ingest's tables (rejects, unregistered devices), 2 those of alerts (alerts,
 * their history and departments, acknowledgements, silences), delivery (the outbox) and the
 * audit log, 3 the reports' maintenance records. The tables are the same; only who keeps
 * their version changed. So a store at global version N starts at these part versions.
 */
export function LEGACY_PARTS(version: number): Record<string, number> {
  if (version <= 0) return {};
  return {
    ingest: 1,
    ...(version >= 2 ? { alerts: 1, delivery: 1, audit: 1 } : {}),
    ...(version >= 3 ? { reports: 1 } : {}),
  };
}
