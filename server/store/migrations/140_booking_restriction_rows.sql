-- The booking-restriction search parameter (server/search/parameters/booking-restriction.json) came
-- after Slots and Schedules could carry the extension: those written before it have no index rows,
-- so $find's SQL took them as unrestricted (the JavaScript check then dropped them, leaving a page
-- short) and Slot?booking-restriction= missed them. Their rows, as the token extractor writes them
-- (server/search/types/token.ts): a member kind's code; an organisation's identifier system and value,
-- and its type codings as :of-type. Resources that already have rows are left as they are.
INSERT INTO search_token (resource_type, id, param, grp, system, code)
SELECT r.resource_type, r.id, 'booking-restriction', NULL,
       CASE WHEN part ? 'valueIdentifier' THEN part -> 'valueIdentifier' ->> 'system' END,
       COALESCE(part ->> 'valueCode', part -> 'valueIdentifier' ->> 'value')
FROM resources r
CROSS JOIN LATERAL jsonb_array_elements(CASE WHEN jsonb_typeof(r.content::jsonb -> 'extension') = 'array' THEN r.content::jsonb -> 'extension' ELSE '[]'::jsonb END) restriction
CROSS JOIN LATERAL jsonb_array_elements(CASE WHEN jsonb_typeof(restriction -> 'extension') = 'array' THEN restriction -> 'extension' ELSE '[]'::jsonb END) part
WHERE r.resource_type IN ('Slot', 'Schedule') AND NOT r.deleted
  AND restriction ->> 'url' = 'https://fhir.neighbourhood-hub.example/StructureDefinition/booking-restriction'
  AND COALESCE(part ->> 'valueCode', part -> 'valueIdentifier' ->> 'system', part -> 'valueIdentifier' ->> 'value') IS NOT NULL
  AND NOT EXISTS (SELECT 1 FROM search_token t WHERE t.resource_type = r.resource_type AND t.id = r.id AND t.param LIKE 'booking-restriction%');
INSERT INTO search_token (resource_type, id, param, grp, system, code)
SELECT r.resource_type, r.id, 'booking-restriction:of-type', NULL, coding ->> 'system', (coding ->> 'code') || '|' || (part -> 'valueIdentifier' ->> 'value')
FROM resources r
CROSS JOIN LATERAL jsonb_array_elements(CASE WHEN jsonb_typeof(r.content::jsonb -> 'extension') = 'array' THEN r.content::jsonb -> 'extension' ELSE '[]'::jsonb END) restriction
CROSS JOIN LATERAL jsonb_array_elements(CASE WHEN jsonb_typeof(restriction -> 'extension') = 'array' THEN restriction -> 'extension' ELSE '[]'::jsonb END) part
CROSS JOIN LATERAL jsonb_array_elements(CASE WHEN jsonb_typeof(part -> 'valueIdentifier' -> 'type' -> 'coding') = 'array' THEN part -> 'valueIdentifier' -> 'type' -> 'coding' ELSE '[]'::jsonb END) coding
WHERE r.resource_type IN ('Slot', 'Schedule') AND NOT r.deleted
  AND restriction ->> 'url' = 'https://fhir.neighbourhood-hub.example/StructureDefinition/booking-restriction'
  AND coding ->> 'code' IS NOT NULL AND part -> 'valueIdentifier' ->> 'value' IS NOT NULL
  AND NOT EXISTS (SELECT 1 FROM search_token t WHERE t.resource_type = r.resource_type AND t.id = r.id AND t.param = 'booking-restriction:of-type');
