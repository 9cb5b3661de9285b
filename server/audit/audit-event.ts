import type { AuditEvent, AuditEventAgent, AuditEventEntity, Coding } from '@medplum/fhirtypes';
import { ODS_SYSTEM } from '../auth/principal.js';
import type { AuditInteraction, AuditRecord } from './record.js';

// The shape follows IHE Basic Audit Log Patterns (BALP, https://profiles.ihe.net/ITI/BALP/) on R4:
// client and server agents, the patient and every other resource as entities, the query as an entity.

/** Client ids as the audit trail names them (agent.who.identifier); the `client` search parameter reads it. */
export const CLIENT_SYSTEM = 'https://neighbourhood.example.org/fhir/Id/client';
/** Our own subtype for what no standard code names: a subscription notification sent. */
export const AUDIT_SUBTYPE_SYSTEM = 'https://neighbourhood.example.org/fhir/CodeSystem/audit-event-subtype';
const HUB_NAME = 'Neighbourhood FHIR hub';

const DCM = 'http://dicom.nema.org/resources/ontology/DCM';
const REST_TYPE: Coding = { system: 'http://terminology.hl7.org/CodeSystem/audit-event-type', code: 'rest', display: 'Restful Operation' };
const AUTHENTICATION_TYPE: Coding = { system: DCM, code: '110114', display: 'User Authentication' };
/** A notification carries data out of the hub to a receiver: DICOM's Export event. */
const EXPORT_TYPE: Coding = { system: DCM, code: '110106', display: 'Export' };
const RESTFUL = 'http://hl7.org/fhir/restful-interaction';
const AGENT_SOURCE: Coding = { system: DCM, code: '110153', display: 'Source Role ID' };
const AGENT_DESTINATION: Coding = { system: DCM, code: '110152', display: 'Destination Role ID' };
const PARTICIPATION = 'http://terminology.hl7.org/CodeSystem/v3-ParticipationType';
const ENTITY_TYPE = 'http://terminology.hl7.org/CodeSystem/audit-entity-type';
const OBJECT_ROLE = 'http://terminology.hl7.org/CodeSystem/object-role';
const BALP_ENTITY_TYPE = 'https://profiles.ihe.net/ITI/BALP/CodeSystem/BasicAuditEntityType';
/** Interactions on one resource: BALP's Read, Create, Update and Delete patterns name it as a data entity. */
export const INSTANCE_INTERACTIONS: ReadonlySet<AuditInteraction> = new Set<AuditInteraction>(['read', 'vread', 'create', 'update', 'patch', 'delete']);
/**
 * BALP's Read pattern has the data flow to the client: the client is the destination and the server
 * the source. Its Query, Create, Update and Delete patterns keep DICOM's request direction (client
 * source, server destination).
 */
const TO_CLIENT = new Set<AuditInteraction>(['read', 'vread']);

const ACTION: Record<AuditInteraction, AuditEvent['action']> = {
  read: 'R',
  vread: 'R',
  search: 'E', // R4 AuditEvent.action: E includes "perform a query/search operation"; BALP Query too
  history: 'R',
  capabilities: 'R',
  create: 'C',
  update: 'U',
  patch: 'U',
  delete: 'D',
  operation: 'E',
  batch: 'E',
  transaction: 'E',
  token: 'E',
  notification: 'R', // DICOM Export is recorded as a read of what left the system
};

/** The AuditEvent of one record; `serverAddress` is this server's host as the client reached it. */
export function auditEventOf(record: AuditRecord, now: Date, serverAddress?: string): AuditEvent {
  const event: AuditEvent = {
    resourceType: 'AuditEvent',
    type: typeOf(record),
    subtype: subtypesOf(record),
    action: ACTION[record.interaction],
    recorded: now.toISOString(),
    outcome: outcomeOf(record.status),
    agent: agentsOf(record, serverAddress),
    source: {
      observer: { display: HUB_NAME },
      type: [{ system: 'http://terminology.hl7.org/CodeSystem/security-source-type', code: '4', display: 'Application Server' }],
    },
    entity: entitiesOf(record),
  };
  const desc = outcomeDescription(record);
  if (desc) event.outcomeDesc = desc;
  return event;
}

function typeOf(record: AuditRecord): Coding {
  if (record.interaction === 'token') return AUTHENTICATION_TYPE;
  if (record.interaction === 'notification') return EXPORT_TYPE;
  // BALP: every RESTful interaction, search included, is a "Restful Operation"; the subtype says which.
  return REST_TYPE;
}

function subtypesOf(record: AuditRecord): Coding[] {
  if (record.interaction === 'token') return [{ system: DCM, code: '110122', display: 'Login' }];
  if (record.interaction === 'notification') return [{ system: AUDIT_SUBTYPE_SYSTEM, code: 'notification', display: 'Subscription notification' }];
  const subtypes: Coding[] = [{ system: RESTFUL, code: record.interaction }];
  if (record.operation) subtypes.push({ system: AUDIT_SUBTYPE_SYSTEM, code: record.operation, display: `Operation ${record.operation}` });
  return subtypes;
}

/** 0 success, 4 minor failure (the caller's fault, refused access included), 8 serious failure (ours, or the receiver unreachable). */
function outcomeOf(status: number): AuditEvent['outcome'] {
  if (status >= 200 && status < 400) return '0';
  if (status >= 400 && status < 500) return '4';
  return '8';
}

function outcomeDescription(record: AuditRecord): string | undefined {
  if (record.description) return record.description;
  if (record.status === 401) return 'Not authenticated';
  if (record.status === 403) return 'Access denied';
  if (record.status === 0) return 'The endpoint could not be reached';
  return undefined;
}

function agentsOf(record: AuditRecord, serverAddress: string | undefined): AuditEventAgent[] {
  const { principal } = record;
  const toClient = TO_CLIENT.has(record.interaction);
  const client: AuditEventAgent = { type: { coding: [toClient ? AGENT_DESTINATION : AGENT_SOURCE] }, requestor: true };
  if (principal) {
    client.who = { identifier: { system: CLIENT_SYSTEM, value: principal.clientId }, display: principal.clientId };
    client.altId = principal.clientId;
    client.name = principal.clientId;
  }
  if (record.sourceAddress) client.network = { address: record.sourceAddress, type: '2' };
  const agents = [client];
  if (principal?.org) {
    // The member organisation the client acts for, by ODS code: the information recipient.
    agents.push({
      type: { coding: [{ system: PARTICIPATION, code: 'IRCP', display: 'information recipient' }] },
      who: { type: 'Organization', identifier: { system: ODS_SYSTEM, value: principal.org }, display: principal.org },
      requestor: false,
    });
  }
  const server: AuditEventAgent = { type: { coding: [toClient ? AGENT_SOURCE : AGENT_DESTINATION] }, who: { display: HUB_NAME }, requestor: false };
  if (serverAddress) server.network = { address: serverAddress, type: '1' };
  agents.push(server);
  return agents;
}

function entitiesOf(record: AuditRecord): AuditEventEntity[] {
  const patients = new Set(record.patients);
  const entities: AuditEventEntity[] = [...patients].map((id) => ({
    what: { reference: `Patient/${id}` },
    type: { system: ENTITY_TYPE, code: '1', display: 'Person' },
    role: { system: OBJECT_ROLE, code: '1', display: 'Patient' },
  }));
  // A Patient read or written by instance is both BALP's data entity and its patient entity; a
  // Patient a search returned is named once, as the patient.
  const instance = INSTANCE_INTERACTIONS.has(record.interaction);
  const others = new Set(record.resources.filter((r) => instance || !(r.startsWith('Patient/') && patients.has(r.slice('Patient/'.length)))));
  if (record.subscription) others.add(record.subscription);
  for (const reference of others) {
    entities.push({
      what: { reference },
      type: { system: ENTITY_TYPE, code: '2', display: 'System Object' },
      role: { system: OBJECT_ROLE, code: '4', display: 'Domain Resource' },
    });
  }
  if (record.query || record.operation) {
    const query: AuditEventEntity = {
      type: { system: ENTITY_TYPE, code: '2', display: 'System Object' },
      role: { system: OBJECT_ROLE, code: '24', display: 'Query' },
    };
    if (record.query) query.query = Buffer.from(record.query, 'utf8').toString('base64');
    if (record.operation) query.description = record.operation;
    entities.push(query);
  }
  if (record.requestId) {
    // BALP carries the request id as an entity naming the transaction.
    entities.push({ type: { system: BALP_ENTITY_TYPE, code: 'XrequestId', display: 'X-Request-Id' }, what: { identifier: { value: record.requestId } } });
  }
  return entities;
}
