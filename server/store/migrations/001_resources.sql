-- Current version of every resource (deleted ones stay, marked, so a read can answer 410 Gone).
CREATE TABLE resources (
  resource_type text NOT NULL,
  id text NOT NULL,
  version_id integer NOT NULL,
  last_updated timestamptz NOT NULL,
  deleted boolean NOT NULL DEFAULT false,
  content text,
  PRIMARY KEY (resource_type, id)
);
CREATE INDEX resources_type_updated ON resources (resource_type, last_updated, id);

-- Every version ever written, including deletions (content NULL).
CREATE TABLE resource_history (
  resource_type text NOT NULL,
  id text NOT NULL,
  version_id integer NOT NULL,
  last_updated timestamptz NOT NULL,
  deleted boolean NOT NULL DEFAULT false,
  interaction text NOT NULL,
  content text,
  PRIMARY KEY (resource_type, id, version_id)
);
CREATE INDEX resource_history_updated ON resource_history (last_updated);
CREATE INDEX resource_history_type_updated ON resource_history (resource_type, last_updated);

-- The outbox: one row per committed change, written in the same transaction as the change.
-- The relay worker moves rows to the queue and stamps relayed_at.
CREATE TABLE change_log (
  seq bigserial PRIMARY KEY,
  resource_type text NOT NULL,
  id text NOT NULL,
  version_id integer NOT NULL,
  interaction text NOT NULL,
  changed_at timestamptz NOT NULL,
  relayed_at timestamptz
);
CREATE INDEX change_log_unrelayed ON change_log (seq) WHERE relayed_at IS NULL;
