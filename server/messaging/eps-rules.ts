import type { Bundle, MedicationRequest, MessageHeader } from '@medplum/fhirtypes';
import { badRequest } from '../errors.js';
import { isValidPrescriptionId, prescriptionIdCheckCharacter } from './prescription-id.js';

export const MESSAGE_EVENT = 'https://fhir.nhs.uk/CodeSystem/message-event';
export const ODS = 'https://fhir.nhs.uk/Id/ods-organization-code';
const INTENTS = ['order', 'original-order', 'instance-order'];

/** Elements every MedicationRequest of one prescription must agree on, by FHIRPath and how to read them. */
const MUST_AGREE: Array<[string, (m: MedicationRequest) => unknown]> = [
  ['subject', (m) => m.subject?.reference],
  ['requester', (m) => m.requester?.reference],
  ['groupIdentifier', (m) => `${m.groupIdentifier?.system}|${m.groupIdentifier?.value}`],
  ['authoredOn', (m) => m.authoredOn],
  ['dispenseRequest.performer', (m) => JSON.stringify(m.dispenseRequest?.performer ?? null)],
  ['courseOfTherapyType', (m) => m.courseOfTherapyType?.coding?.[0]?.code],
];

export interface PrescriptionMessage {
  header: MessageHeader;
  medicationRequests: Array<{ resource: MedicationRequest; index: number }>;
  /** ODS code of the pharmacy the message is addressed to. */
  pharmacy: string;
}

/**
 * The EPS rules that matter for routing and safety, each failure a 400 naming the element
 * (https://digital.nhs.uk/developer/api-catalogue/electronic-prescription-service-fhir).
 */
export function checkPrescriptionMessage(bundle: Bundle, header: MessageHeader): PrescriptionMessage {
  const medicationRequests = (bundle.entry ?? [])
    .map((e, index) => ({ resource: e.resource as MedicationRequest, index }))
    .filter((e) => e.resource?.resourceType === 'MedicationRequest');
  if (medicationRequests.length < 1 || medicationRequests.length > 4) {
    throw badRequest(`A prescription message carries 1 to 4 MedicationRequests; this one has ${medicationRequests.length}`, 'Bundle.entry');
  }
  const receiver = header.destination?.[0]?.receiver?.identifier;
  if (receiver?.system !== ODS || !receiver.value) {
    throw badRequest('MessageHeader.destination.receiver must name the pharmacy by its ODS code', 'Bundle.entry[0].resource.destination[0].receiver.identifier');
  }
  const first = medicationRequests[0].resource;
  for (const { resource: m, index } of medicationRequests) {
    const at = `Bundle.entry[${index}].resource`;
    if (!INTENTS.includes(m.intent)) throw badRequest(`MedicationRequest.intent must be order, original-order or instance-order; got '${m.intent}'`, `${at}.intent`);
    const id = m.groupIdentifier?.value;
    if (!id) throw badRequest('MedicationRequest.groupIdentifier must carry the prescription id', `${at}.groupIdentifier.value`);
    if (!isValidPrescriptionId(id)) {
      throw badRequest(`Prescription id ${id} has an invalid check character (ISO 7064 MOD 37-2 gives '${prescriptionIdCheckCharacter(id.toUpperCase())}')`, `${at}.groupIdentifier.value`);
    }
    for (const [path, read] of MUST_AGREE) {
      if (read(m) !== read(first)) throw badRequest(`Every MedicationRequest of a prescription must have the same ${path}`, `${at}.${path}`);
    }
    const performer = m.dispenseRequest?.performer?.identifier;
    if (performer?.value && performer.value !== receiver.value) {
      throw badRequest(`dispenseRequest.performer (${performer.value}) is not the pharmacy the message is addressed to (${receiver.value})`, `${at}.dispenseRequest.performer`);
    }
  }
  return { header, medicationRequests, pharmacy: receiver.value };
}
