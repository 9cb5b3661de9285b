-- Scheduling (IHE ITI Scheduling $find/$hold/$book): who holds or has booked each Slot.
-- The primary key is the last word against double booking: one claim per slot, whatever the path.
-- state: 'held' (a pending Appointment, until expires_at) or 'booked' (busy until released).
CREATE TABLE slot_claim (
  slot_id text PRIMARY KEY,
  appointment_id text NOT NULL,
  state text NOT NULL,
  client_id text,
  expires_at timestamptz
);
CREATE INDEX slot_claim_appointment ON slot_claim (appointment_id);
CREATE INDEX slot_claim_expiry ON slot_claim (expires_at) WHERE state = 'held';

-- Proposed Appointments $find answered, so $hold and $book can take `appointment-reference` to one.
-- Not FHIR resources (nothing was decided yet), kept a day, then swept.
CREATE TABLE appointment_proposal (
  id text PRIMARY KEY,
  content text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX appointment_proposal_created ON appointment_proposal (created_at);

-- Recurring availability: which version of each Schedule's opening times the hub has turned into
-- Slots, and how far ahead, so the worker's regular pass costs one query when nothing changed.
CREATE TABLE availability_state (
  schedule_id text PRIMARY KEY,
  version_id integer NOT NULL,
  generated_through date NOT NULL
);
