-- Scheduling's $find walks free slots in start order, each with its schedule and end: this narrow
-- projection of every current Slot (server/scheduling/slot-availability.ts writes it with each
-- Slot write, in the same transaction) answers that from one table and one index instead of three
-- search index tables and the Slot's JSON. A Slot whose schedule is not a local Schedule has no row.
CREATE TABLE slot_availability (
  slot_id text PRIMARY KEY,
  schedule_id text NOT NULL,
  start timestamptz,
  "end" timestamptz,
  status text
);
CREATE INDEX slot_availability_free_start ON slot_availability (start) WHERE status = 'free';
CREATE INDEX slot_availability_free_schedule_start ON slot_availability (schedule_id, start) WHERE status = 'free';

-- The Slots already stored, their schedule as the search index holds it.
INSERT INTO slot_availability (slot_id, schedule_id, start, "end", status)
SELECT DISTINCT ON (r.id) r.id, x.target_id, (r.content::jsonb ->> 'start')::timestamptz, (r.content::jsonb ->> 'end')::timestamptz, r.content::jsonb ->> 'status'
FROM resources r
JOIN search_reference x ON x.resource_type = 'Slot' AND x.id = r.id AND x.param = 'schedule' AND x.target_type = 'Schedule'
WHERE r.resource_type = 'Slot' AND NOT r.deleted
ORDER BY r.id, x.grp;
