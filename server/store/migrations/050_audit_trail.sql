-- The audit trail (server/audit/): one narrow row per recorded interaction, token request or
-- notification; the AuditEvent resource is built from it when read (server/audit/trail-row.ts).
-- No current/history/change-log/index rows: an event is written once and never changed.
-- Partitioned by month on `recorded` (server/audit/partitions.ts creates the months ahead of
-- time on PostgreSQL and drops whole old ones for AUDIT_RETENTION_MONTHS). Rows whose month has no
-- partition go to the default partition, which is the whole table on PGlite.
CREATE TABLE audit_event (
  -- UUIDv7: the id carries `recorded` to the millisecond, so a read by id finds its partition.
  id uuid NOT NULL,
  recorded timestamptz NOT NULL,
  -- server/audit/record.ts AuditInteraction; with operation, status and patients it gives type,
  -- subtype, action and outcome.
  interaction text NOT NULL,
  operation text,
  -- HTTP status answered (0: a notification endpoint that could not be reached).
  status smallint NOT NULL,
  client text,
  org text,
  -- Ids of the patients whose data was touched.
  patients text[] NOT NULL,
  -- `Type/id` of every entity: the patients (Patient/id), the resources touched and the subscription
  -- of a notification; one index answers both the patient and the entity searches.
  entities text[] NOT NULL,
  subscription text,
  query text,
  description text,
  request_id text,
  source_address text,
  server_address text
) PARTITION BY RANGE (recorded);
CREATE TABLE audit_event_default PARTITION OF audit_event DEFAULT;
CREATE INDEX audit_event_recorded ON audit_event (recorded);
CREATE INDEX audit_event_client ON audit_event (client, recorded);
CREATE INDEX audit_event_entities ON audit_event USING gin (entities);
