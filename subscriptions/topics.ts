import type { Interaction } from '../server/store/store.js';

/**
 * The neighbourhood's built-in subscription topics: what counts as an event, and which filters a
 * subscriber may narrow it with. Shaped like R5 SubscriptionTopic
 * (https://hl7.org/fhir/R5/subscriptiontopic.html) and served in R4 as Basic resources
 * (topic-resources.ts), as the Backport IG does for R4.
 */
export interface TopicTrigger {
  resource: string;
  description: string;
  supportedInteraction: Interaction[];
  /** FHIRPath over %previous and %current (empty on create / after delete); absent = every supported interaction is an event. */
  fhirPathCriteria?: string;
}

export interface TopicFilter {
  resource: string;
  filterParameter: string;
  description: string;
  /** Evaluated as this search parameter of `resource` through the SearchEngine (the same semantics as search). */
  searchParameter?: string;
  /** Or, where no search parameter says it: a FHIRPath yielding Identifiers, matched as a token `[system|]value`. */
  identifierPath?: string;
  /**
   * Or, where the filter is about a resource the changed one refers to (a Slot's organisation is its
   * Schedule's actors'): that resource, found through the `reference` search parameter and read when
   * the change is matched, must match one of `searchParameters` (chains allowed) with the value.
   */
  via?: { reference: string; resource: string; searchParameters: string[] };
}

export interface Topic {
  id: string;
  url: string;
  title: string;
  description: string;
  triggers: TopicTrigger[];
  filters: TopicFilter[];
}

export const TOPIC_BASE = 'http://neighbourhood-hub.example/fhir/SubscriptionTopic';
const COORDINATOR = "participant.where(role.coding.where(system = 'http://snomed.info/sct' and code = '768820003').exists()).member.reference";
const MEMBERS = 'participant.member.reference';
/** Set difference both ways: FHIRPath R4 has no sort, so compare as sets with exclude(). */
const setChanged = (path: string): string =>
  `%current.${path}.exclude(%previous.${path}).exists() or %previous.${path}.exclude(%current.${path}).exists()`;

export const TOPICS: Topic[] = [
  {
    id: 'care-team-membership',
    url: `${TOPIC_BASE}/care-team-membership`,
    title: 'Care team membership or coordinator changed',
    description: 'A CareTeam is created or deleted, gains or loses a member, or gets a different care coordinator (SNOMED CT 768820003).',
    triggers: [
      {
        resource: 'CareTeam',
        description: 'A member joins or leaves, or the care coordinator changes.',
        supportedInteraction: ['create', 'update', 'delete'],
        fhirPathCriteria: `%previous.id.empty() or %current.id.empty() or ${setChanged(MEMBERS)} or ${setChanged(COORDINATOR)}`,
      },
    ],
    filters: [
      { resource: 'CareTeam', filterParameter: 'patient', searchParameter: 'patient', description: 'The patient the care team is for (Patient/[id]).' },
      { resource: 'CareTeam', filterParameter: 'participant', searchParameter: 'participant', description: 'A member of the team (Practitioner/[id], Organization/[id], ...).' },
    ],
  },
  {
    id: 'prescription-issued-or-cancelled',
    url: `${TOPIC_BASE}/prescription-issued-or-cancelled`,
    title: 'Prescription issued or cancelled for a pharmacy',
    description: 'A MedicationRequest becomes active (issued) or cancelled. Filter by the performing pharmacy ODS code to receive only those addressed to you.',
    triggers: [
      {
        resource: 'MedicationRequest',
        description: 'The status becomes active (issued) or cancelled, or an active prescription is addressed to another pharmacy.',
        supportedInteraction: ['create', 'update'],
        // Re-addressing counts as issuing to the new pharmacy: otherwise its subscriptions would never hear of it.
        fhirPathCriteria:
          "(%current.status = 'active' and (%previous.id.empty() or %previous.status != 'active' or %previous.dispenseRequest.performer.identifier.value != %current.dispenseRequest.performer.identifier.value)) or (%current.status = 'cancelled' and (%previous.id.empty() or %previous.status != 'cancelled'))",
      },
    ],
    filters: [
      {
        resource: 'MedicationRequest',
        filterParameter: 'pharmacy',
        description: 'ODS code of the performing pharmacy: `[https://fhir.nhs.uk/Id/ods-organization-code|]FA123`, matched on dispenseRequest.performer or performer identifiers.',
        identifierPath: 'MedicationRequest.dispenseRequest.performer.identifier | MedicationRequest.performer.identifier',
      },
      { resource: 'MedicationRequest', filterParameter: 'patient', searchParameter: 'patient', description: 'The patient prescribed for (Patient/[id]).' },
    ],
  },
  {
    id: 'medication-issue',
    url: `${TOPIC_BASE}/medication-issue`,
    title: 'Medication issue detected',
    description:
      "A DetectedIssue of duplicate therapy (v3 ActCode DUPTHPY) is recorded: a prescription written duplicates a medicine or active ingredient another organisation has active for the same patient. For the patient's GP practice, care coordinator and the prescribers.",
    triggers: [
      {
        resource: 'DetectedIssue',
        description: 'A duplicate-therapy DetectedIssue is created.',
        supportedInteraction: ['create'],
        fhirPathCriteria: "%current.code.coding.where(system = 'http://terminology.hl7.org/CodeSystem/v3-ActCode' and code = 'DUPTHPY').exists()",
      },
    ],
    filters: [
      { resource: 'DetectedIssue', filterParameter: 'patient', searchParameter: 'patient', description: 'The patient (Patient/[id]).' },
      {
        resource: 'DetectedIssue',
        filterParameter: 'organisation',
        description:
          "ODS code of an organisation the issue concerns (a prescriber's, or the patient's registered GP practice): `[https://fhir.nhs.uk/Id/ods-organization-code|]B84001`.",
        identifierPath: "DetectedIssue.extension('https://fhir.neighbourhood-hub.example/StructureDefinition/detected-issue-organisation').value.identifier",
      },
    ],
  },
  {
    id: 'appointment-booked-changed-cancelled',
    url: `${TOPIC_BASE}/appointment-booked-changed-cancelled`,
    title: 'Appointment booked, changed or cancelled',
    description: 'Any create, update or delete of an Appointment (booked, rescheduled, cancelled).',
    triggers: [{ resource: 'Appointment', description: 'Any change to an appointment.', supportedInteraction: ['create', 'update', 'delete'] }],
    filters: [
      { resource: 'Appointment', filterParameter: 'patient', searchParameter: 'patient', description: 'A patient taking part (Patient/[id]).' },
      { resource: 'Appointment', filterParameter: 'practitioner', searchParameter: 'practitioner', description: 'A practitioner taking part (Practitioner/[id]).' },
      { resource: 'Appointment', filterParameter: 'service', searchParameter: 'actor', description: 'The HealthcareService taking part (HealthcareService/[id]).' },
      { resource: 'Appointment', filterParameter: 'service-type', searchParameter: 'service-type', description: 'The service type code ([system|]code).' },
      { resource: 'Appointment', filterParameter: 'site', searchParameter: 'location', description: 'The Location (site) of the appointment (Location/[id]).' },
    ],
  },
  {
    id: 'slot-available',
    url: `${TOPIC_BASE}/slot-available`,
    title: 'Slot available',
    description: 'A Slot becomes free: published free, or freed by a cancellation or a lapsed hold. Lets a member wait for a free slot instead of polling $find.',
    triggers: [
      {
        resource: 'Slot',
        description: 'status becomes free.',
        supportedInteraction: ['create', 'update'],
        fhirPathCriteria: "%current.status = 'free' and (%previous.id.empty() or %previous.status != 'free')",
      },
    ],
    filters: [
      { resource: 'Slot', filterParameter: 'service-type', searchParameter: 'service-type', description: 'The service type code ([system|]code).' },
      { resource: 'Slot', filterParameter: 'specialty', searchParameter: 'specialty', description: 'The specialty code ([system|]code).' },
      { resource: 'Slot', filterParameter: 'schedule', searchParameter: 'schedule', description: 'The Schedule (Schedule/[id]).' },
      {
        resource: 'Slot',
        filterParameter: 'organisation',
        description: "The organisation offering the slot (Organization/[id]): the organization of the slot's schedule's PractitionerRole, HealthcareService or Location, as it is when the slot is freed.",
        via: { reference: 'schedule', resource: 'Schedule', searchParameters: ['actor:PractitionerRole.organization', 'actor:HealthcareService.organization', 'actor:Location.organization'] },
      },
      {
        resource: 'Slot',
        filterParameter: 'location',
        description: "The site of the slot (Location/[id]): the slot's schedule's Location, or a location of its PractitionerRole or HealthcareService, as it is when the slot is freed.",
        via: { reference: 'schedule', resource: 'Schedule', searchParameters: ['actor', 'actor:PractitionerRole.location', 'actor:HealthcareService.location'] },
      },
    ],
  },
  {
    id: 'patient-demographics',
    url: `${TOPIC_BASE}/patient-demographics`,
    title: 'Patient demographics changed',
    description: 'A Patient is created, or its identifiers, name, birth date, gender, address, telecom, death or registered GP change.',
    triggers: [
      {
        resource: 'Patient',
        description: 'A demographic element changes.',
        supportedInteraction: ['create', 'update'],
        fhirPathCriteria:
          '%previous.id.empty() or ' +
          ['identifier', 'name', 'birthDate', 'gender', 'address', 'telecom', 'deceased', 'generalPractitioner']
            .map((e) => `(%previous.${e} = %current.${e}).not() or (%previous.${e}.exists() != %current.${e}.exists())`)
            .join(' or '),
      },
    ],
    filters: [
      { resource: 'Patient', filterParameter: 'patient', searchParameter: '_id', description: 'The patient id.' },
      { resource: 'Patient', filterParameter: 'identifier', searchParameter: 'identifier', description: 'A patient identifier, e.g. https://fhir.nhs.uk/Id/nhs-number|9000000009.' },
      { resource: 'Patient', filterParameter: 'general-practitioner', searchParameter: 'general-practitioner', description: 'The registered GP or practice (Organization/[id]).' },
    ],
  },
  {
    id: 'referral-status',
    url: `${TOPIC_BASE}/referral-status`,
    title: 'Referral status changed',
    description:
      'A referral Task (HL7 Gravity SDOH Clinical Care IG, Task for referral management) is created or changes status: requested, accepted, rejected, in progress, completed, cancelled...',
    triggers: [
      {
        resource: 'Task',
        description: 'A Task managing a ServiceRequest is created or its status changes.',
        supportedInteraction: ['create', 'update'],
        fhirPathCriteria: "%current.focus.reference.contains('ServiceRequest/') and (%previous.id.empty() or %previous.status != %current.status)",
      },
    ],
    filters: [
      { resource: 'Task', filterParameter: 'owner', searchParameter: 'owner', description: 'The receiving organisation or role (Organization/[id], PractitionerRole/[id]).' },
      { resource: 'Task', filterParameter: 'requester', searchParameter: 'requester', description: 'The referrer (Organization/[id], PractitionerRole/[id]).' },
      { resource: 'Task', filterParameter: 'patient', searchParameter: 'patient', description: 'The patient referred (Patient/[id]).' },
      { resource: 'Task', filterParameter: 'status', searchParameter: 'status', description: 'The new status (requested, accepted, completed, ...).' },
    ],
  },
  {
    id: 'consultation-summary',
    url: `${TOPIC_BASE}/consultation-summary`,
    title: 'Consultation summary for a GP practice',
    description:
      'A community pharmacy consultation summary message ($process-message, event consultation-summary of the hub) arrives for the patient\'s registered GP practice.',
    triggers: [
      {
        resource: 'MessageHeader',
        description: 'The MessageHeader of a consultation summary message is stored.',
        supportedInteraction: ['create'],
        fhirPathCriteria: "%current.eventCoding.code = 'consultation-summary'",
      },
    ],
    filters: [
      {
        resource: 'MessageHeader',
        filterParameter: 'practice',
        description: 'ODS code of the GP practice addressed: `[https://fhir.nhs.uk/Id/ods-organization-code|]B84001`.',
        identifierPath: 'MessageHeader.destination.receiver.identifier',
      },
    ],
  },
];

const byUrl = new Map(TOPICS.map((t) => [t.url, t]));
export const findTopic = (url: string): Topic | undefined => byUrl.get(url.split('|')[0]);
