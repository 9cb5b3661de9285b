-- AuditEvents recorded before the audit trail had its own table (050) are full resources: each
-- becomes its audit_event row (what server/audit/trail-row.ts keeps), under the same id, and leaves
-- resources, resource_history, change_log and the search index tables. Built from its row, it reads
-- as it was stored (server/audit/audit-event.ts wrote the same shape), but for meta.lastUpdated,
-- which is now the time recorded. An AuditEvent does not carry the HTTP status: its outcome keeps the
-- class (0 as 200, 4 as 400, 8 as 500) and outcomeDesc its text. An id that is not a UUID (none is:
-- the server wrote them all) gets a version-4 one derived from it. Run once; with no such resources it moves nothing.
INSERT INTO audit_event (id, recorded, interaction, operation, status, client, org, patients, entities, subscription, query, description, request_id, source_address, server_address)
SELECT
  CASE WHEN old.id ~ '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$' THEN old.id::uuid ELSE overlay(md5(old.id) placing '4' from 13 for 1)::uuid END,
  COALESCE((e ->> 'recorded')::timestamptz, old.last_updated),
  CASE e #>> '{type,code}'
    WHEN '110114' THEN 'token'
    WHEN '110106' THEN 'notification'
    ELSE COALESCE(jsonb_path_query_first(e, '$.subtype[*] ? (@.system == "http://hl7.org/fhir/restful-interaction").code') #>> '{}', 'operation')
  END,
  CASE WHEN e #>> '{type,code}' = '110106' THEN NULL
    ELSE jsonb_path_query_first(e, '$.subtype[*] ? (@.system == "https://neighbourhood.example.org/fhir/CodeSystem/audit-event-subtype").code') #>> '{}'
  END,
  CASE e ->> 'outcome' WHEN '0' THEN 200 WHEN '4' THEN 400 ELSE 500 END,
  jsonb_path_query_first(e, '$.agent[*] ? (@.requestor == true).altId') #>> '{}',
  jsonb_path_query_first(e, '$.agent[*] ? (@.type.coding[*].code == "IRCP").who.identifier.value') #>> '{}',
  ARRAY(SELECT substr(x #>> '{what,reference}', 9) FROM jsonb_array_elements(e -> 'entity') WITH ORDINALITY AS t (x, n)
    WHERE x #>> '{role,code}' = '1' AND x #>> '{what,reference}' LIKE 'Patient/%' ORDER BY n),
  -- Each entity once, in order: a Patient read by instance is named as data and as patient (BALP).
  ARRAY(SELECT ref FROM (SELECT x #>> '{what,reference}' AS ref, min(n) AS n FROM jsonb_array_elements(e -> 'entity') WITH ORDINALITY AS t (x, n)
    WHERE x #>> '{role,code}' IN ('1', '4') AND x #>> '{what,reference}' IS NOT NULL GROUP BY 1) AS named ORDER BY n),
  CASE WHEN e #>> '{type,code}' = '110106' THEN
    (SELECT x #>> '{what,reference}' FROM jsonb_array_elements(e -> 'entity') WITH ORDINALITY AS t (x, n)
      WHERE x #>> '{role,code}' = '4' AND x #>> '{what,reference}' LIKE 'Subscription/%' ORDER BY n DESC LIMIT 1)
  END,
  (SELECT convert_from(decode(x ->> 'query', 'base64'), 'UTF8') FROM jsonb_array_elements(e -> 'entity') AS t (x) WHERE x #>> '{role,code}' = '24' AND x ? 'query' LIMIT 1),
  e ->> 'outcomeDesc',
  jsonb_path_query_first(e, '$.entity[*] ? (@.type.code == "XrequestId").what.identifier.value') #>> '{}',
  jsonb_path_query_first(e, '$.agent[*] ? (@.requestor == true).network.address') #>> '{}',
  -- The server's agent: not the requestor, named by machine name (network type 1), whichever role it had.
  jsonb_path_query_first(e, '$.agent[*] ? (@.requestor == false && @.network.type == "1").network.address') #>> '{}'
FROM (SELECT r.id, r.last_updated, r.content::jsonb AS e FROM resources r WHERE r.resource_type = 'AuditEvent' AND NOT r.deleted AND r.content IS NOT NULL) old;

DELETE FROM resources WHERE resource_type = 'AuditEvent';
DELETE FROM resource_history WHERE resource_type = 'AuditEvent';
DELETE FROM change_log WHERE resource_type = 'AuditEvent';
DELETE FROM search_string WHERE resource_type = 'AuditEvent';
DELETE FROM search_token WHERE resource_type = 'AuditEvent';
DELETE FROM search_date WHERE resource_type = 'AuditEvent';
DELETE FROM search_number WHERE resource_type = 'AuditEvent';
DELETE FROM search_quantity WHERE resource_type = 'AuditEvent';
DELETE FROM search_reference WHERE resource_type = 'AuditEvent';
DELETE FROM search_uri WHERE resource_type = 'AuditEvent';

-- A moved event keeps its id (a UUIDv4), which does not carry its time as the trail's own ids do:
-- read by id, it is found through this index, which holds those events only.
CREATE INDEX audit_event_legacy_id ON audit_event (id) WHERE substr(id::text, 15, 1) <> '7';
