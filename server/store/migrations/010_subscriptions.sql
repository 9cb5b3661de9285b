-- Subscriptions (https://hl7.org/fhir/R4/subscription.html, Subscriptions R5 Backport IG 1.1.0).
-- The Subscription resources themselves live in `resources` like any other; these tables hold
-- what delivery needs beside them.

-- One row per subscription: the event counter (events-since-subscription-start), the delivery
-- cursor (every event up to delivered_through has been delivered, in order), a lease so that one
-- worker at a time delivers for a subscription, and the retry back-off state.
CREATE TABLE subscription_state (
  subscription_id text PRIMARY KEY,
  events_since_start bigint NOT NULL DEFAULT 0,
  delivered_through bigint NOT NULL DEFAULT 0,
  failures integer NOT NULL DEFAULT 0,
  next_attempt_at timestamptz,
  lease_owner text,
  lease_until timestamptz,
  last_error text,
  last_sent_at timestamptz
);

-- Every event a subscription has had, by number, so $events can replay what a receiver missed.
-- (subscription_id, change_seq) is unique: re-running a match job never makes a second event.
CREATE TABLE subscription_event (
  subscription_id text NOT NULL,
  event_number bigint NOT NULL,
  change_seq bigint NOT NULL,
  resource_type text NOT NULL,
  resource_id text NOT NULL,
  version_id integer NOT NULL,
  interaction text NOT NULL,
  occurred_at timestamptz NOT NULL,
  PRIMARY KEY (subscription_id, event_number),
  UNIQUE (subscription_id, change_seq)
);

-- Every delivery attempt (handshake, heartbeat, event notification), read by $status.
CREATE TABLE subscription_delivery (
  id bigserial PRIMARY KEY,
  subscription_id text NOT NULL,
  notification_id text NOT NULL,
  kind text NOT NULL,
  first_event bigint,
  last_event bigint,
  attempted_at timestamptz NOT NULL,
  duration_ms integer NOT NULL,
  ok boolean NOT NULL,
  http_status integer,
  error text
);
CREATE INDEX subscription_delivery_by_subscription ON subscription_delivery (subscription_id, id);

-- Tokens from $get-ws-binding-token, presented as `bind-with-token <token>` on the websocket.
CREATE TABLE subscription_ws_token (
  token text PRIMARY KEY,
  subscription_ids text[] NOT NULL,
  expires_at timestamptz NOT NULL
);

-- The matcher asks "which Subscriptions changed between these two sequence numbers" before each batch.
CREATE INDEX change_log_type_seq ON change_log (resource_type, seq);

-- Wakes the relay at commit instead of waiting for its next poll (LISTEN change_log).
CREATE FUNCTION change_log_notify() RETURNS trigger AS $$ BEGIN PERFORM pg_notify('change_log', ''); RETURN NULL; END $$ LANGUAGE plpgsql;
CREATE TRIGGER change_log_notify AFTER INSERT ON change_log FOR EACH STATEMENT EXECUTE FUNCTION change_log_notify();
