import { evalFhirPath } from '@medplum/core';
import type { Bundle, Identifier, MedicationRequest, MessageHeader, OperationOutcomeIssue, Practitioner, PractitionerRole } from '@medplum/fhirtypes';
import { badRequest, invalid } from '../errors.js';
import { isValidPrescriptionId, prescriptionIdCheckCharacter } from './prescription-id.js';

// The rules EPS's FHIR API applies to a prescription message before it reaches Spine, with EPS's own
// words and codes, so a message the national service accepts is accepted here and one it refuses is
// refused for the same reason. Source: the coordinator's bundle validator and translation rules in
// NHSDigital/electronic-prescription-service-api (packages/coordinator/src/services/validation/bundle-validator.ts).

export const MESSAGE_EVENT = 'https://fhir.nhs.uk/CodeSystem/message-event';
export const ODS = 'https://fhir.nhs.uk/Id/ods-organization-code';
const SPINE_CODES = 'https://fhir.nhs.uk/R4/CodeSystem/Spine-ErrorOrWarningCode';
const ORDER_ITEM_NUMBER = 'https://fhir.nhs.uk/Id/prescription-order-item-number';
const REPEAT_INFORMATION = 'https://fhir.hl7.org.uk/StructureDefinition/Extension-UKCore-MedicationRepeatInformation';

/** What must be the same on every MedicationRequest of a prescription (EPS's list: courseOfTherapyType is not on it). */
const IDENTICAL = [
  'groupIdentifier',
  'category',
  'authoredOn',
  'subject',
  'requester',
  'dispenseRequest.performer',
  'dispenseRequest.validityPeriod',
  'dispenseRequest.expectedSupplyDuration',
  "dispenseRequest.extension('https://fhir.nhs.uk/StructureDefinition/Extension-DM-PerformerSiteType')",
  "extension('https://fhir.nhs.uk/StructureDefinition/Extension-DM-PrescriptionType')",
  "extension('https://fhir.nhs.uk/StructureDefinition/Extension-DM-ResponsiblePractitioner')",
];

export interface PrescriptionMessage {
  header: MessageHeader;
  medicationRequests: Array<{ resource: MedicationRequest; index: number }>;
  /** ODS code of the pharmacy the message is addressed to (MessageHeader.destination): where it is routed. */
  pharmacy: string;
  /** The pharmacies the prescriptions name as dispenser when that is not where the message goes. */
  otherPerformers: string[];
}

type Item = { resource: MedicationRequest; index: number };

/** An EPS issue: `value` with EPS's words; the element named both at its place in this Bundle and as EPS names it. */
function epsIssue(diagnostics: string, at: string | undefined, epsPath: string, spineCode?: string): OperationOutcomeIssue {
  return {
    severity: 'error',
    code: 'value',
    ...(spineCode ? { details: { coding: [{ system: SPINE_CODES, code: spineCode }] } } : {}),
    diagnostics,
    expression: [...(at ? [at] : []), epsPath],
  };
}

const ofType = (path: string): string => `Bundle.entry.resource.ofType(MedicationRequest).${path}`;

/**
 * EPS's checks of a prescription-order (new prescription) or prescription-order-update
 * (cancellation); every failure is reported, as EPS does, in one 400.
 * https://digital.nhs.uk/developer/api-catalogue/electronic-prescription-service-fhir
 */
export function checkPrescriptionMessage(bundle: Bundle, header: MessageHeader, event: 'prescription-order' | 'prescription-order-update'): PrescriptionMessage {
  const medicationRequests: Item[] = (bundle.entry ?? [])
    .map((e, index) => ({ resource: e.resource as MedicationRequest, index }))
    .filter((e) => e.resource?.resourceType === 'MedicationRequest');
  if (medicationRequests.length < 1 || medicationRequests.length > 4) {
    throw badRequest(`A prescription message carries 1 to 4 MedicationRequests; this one has ${medicationRequests.length}`, 'Bundle.entry');
  }
  const receiver = header.destination?.[0]?.receiver?.identifier;
  if (receiver?.system !== ODS || !receiver.value) {
    throw badRequest('MessageHeader.destination.receiver must name the pharmacy by its ODS code', 'Bundle.entry[0].resource.destination[0].receiver.identifier');
  }
  const issues = [...commonIssues(medicationRequests), ...(event === 'prescription-order' ? prescriptionIssues(bundle, medicationRequests) : cancellationIssues(medicationRequests))];
  if (issues.length) throw invalid(400, issues);
  const otherPerformers = [
    ...new Set(medicationRequests.map((m) => m.resource.dispenseRequest?.performer?.identifier?.value).filter((v): v is string => !!v && v !== receiver.value)),
  ];
  return { header, medicationRequests, pharmacy: receiver.value, otherPerformers };
}

/** verifyCommonBundle: intent, the medication given once, prescription ids with their check character. */
function commonIssues(items: Item[]): OperationOutcomeIssue[] {
  const issues: OperationOutcomeIssue[] = [];
  const planOrReflex = items.find((m) => m.resource.intent === 'plan' || m.resource.intent === 'reflex-order');
  if (planOrReflex) issues.push(epsIssue('MedicationRequest.intent must be order, original-order or instance-order.', `Bundle.entry[${planOrReflex.index}].resource.intent`, ofType('intent')));
  const both = items.find((m) => m.resource.medicationCodeableConcept && m.resource.medicationReference);
  if (both) {
    issues.push({
      ...epsIssue('MedicationRequest cannot contain both medicationReference and medicationCodeableConcept fields.', `Bundle.entry[${both.index}].resource.medication`, ofType('medication'), 'CONFLICTING_VALUES'),
      code: 'structure',
    });
  }
  for (const { resource, index } of items) {
    const id = resource.groupIdentifier?.value;
    const at = `Bundle.entry[${index}].resource.groupIdentifier.value`;
    if (!id) issues.push(epsIssue('Expected MedicationRequest to have a value for groupIdentifier.', at, ofType('groupIdentifier')));
    else if (!isValidPrescriptionId(id)) {
      const expected = prescriptionIdCheckCharacter(id.toUpperCase());
      issues.push(epsIssue(`Prescription id ${id} has an invalid check character (ISO 7064 MOD 37-2 gives '${expected}').`, at, ofType('groupIdentifier.value'), 'INVALID_CHECKSUM'));
      break;
    }
  }
  return issues;
}

/** verifyPrescriptionBundle: the same values throughout, course of therapy, repeat dispensing, status active, distinct item numbers. */
function prescriptionIssues(bundle: Bundle, items: Item[]): OperationOutcomeIssue[] {
  const issues = identicalIssues(items, IDENTICAL);
  const courses = new Set(items.flatMap((m) => m.resource.courseOfTherapyType?.coding ?? []).map((c) => c.code));
  if (courses.size > 1 && !(courses.size === 2 && courses.has('acute') && courses.has('continuous'))) {
    issues.push(
      epsIssue(
        "Course of therapy type must either match for all MedicationRequests or be a mixture of 'acute' and 'continuous'.",
        `Bundle.entry[${items[0].index}].resource.courseOfTherapyType`,
        'MedicationRequest.courseOfTherapyType.coding',
        'INVALID_VALUE',
      ),
    );
  }
  if (courses.has('continuous-repeat-dispensing')) issues.push(...repeatDispensingIssues(items));
  const inactive = items.find((m) => m.resource.status !== 'active');
  if (inactive) issues.push(epsIssue('MedicationRequest.status must be active.', `Bundle.entry[${inactive.index}].resource.status`, ofType('status')));
  const itemNumbers = items.map((m) => m.resource.identifier?.find((i) => i.system === ORDER_ITEM_NUMBER)?.value);
  if (new Set(itemNumbers).size !== items.length) {
    issues.push(epsIssue('Expected all MedicationRequests to have a different value for identifier.', `Bundle.entry[${items[items.length - 1].index}].resource.identifier`, ofType('identifier')));
  }
  if (gmpNumberOf(bundle, items[0].resource)) {
    issues.push({
      severity: 'error',
      code: 'value',
      diagnostics: 'Bundle resource Practitioner.identifier expected exactly one professional code from GMC|NMC|GPhC|HCPC|professional-code.',
      expression: ['Bundle.entry.resource.ofType(Practitioner).identifier'],
    });
  }
  return issues;
}

/** verifyRepeatDispensingPrescription: the same number of repeats (and repeat information), a validity period and a supply duration. */
function repeatDispensingIssues(items: Item[]): OperationOutcomeIssue[] {
  const first = items[0];
  const paths = ['dispenseRequest.numberOfRepeatsAllowed'];
  if (first.resource.extension?.find((e) => e.url === REPEAT_INFORMATION)?.extension?.length) paths.push(`extension('${REPEAT_INFORMATION}')`);
  const issues = identicalIssues(items, paths);
  for (const path of ['dispenseRequest.validityPeriod', 'dispenseRequest.expectedSupplyDuration']) {
    if (!evalFhirPath(path, first.resource).length) issues.push(epsIssue(`Expected MedicationRequest to have a value for ${path}.`, `Bundle.entry[${first.index}].resource.${path}`, ofType(path)));
  }
  return issues;
}

/** verifyCancellationBundle: exactly one MedicationRequest, cancelled, with a reason. */
function cancellationIssues(items: Item[]): OperationOutcomeIssue[] {
  const issues: OperationOutcomeIssue[] = [];
  if (items.length !== 1) {
    issues.push(epsIssue("The Bundle must contain exactly one MedicationRequest if MessageHeader.eventCoding.code is 'prescription-order-update'.", 'Bundle.entry', 'Bundle.entry.resource.ofType(MedicationRequest)'));
  }
  const notCancelled = items.find((m) => m.resource.status !== 'cancelled');
  if (notCancelled) issues.push(epsIssue('MedicationRequest.status must be cancelled.', `Bundle.entry[${notCancelled.index}].resource.status`, ofType('status')));
  const noReason = items.find((m) => !m.resource.statusReason);
  if (noReason) issues.push(epsIssue('Expected MedicationRequest to have a value for statusReason.', `Bundle.entry[${noReason.index}].resource.statusReason`, ofType('statusReason')));
  return issues;
}

/** verifyIdenticalForAllMedicationRequests, for each FHIRPath. */
function identicalIssues(items: Item[], paths: string[]): OperationOutcomeIssue[] {
  const issues: OperationOutcomeIssue[] = [];
  for (const path of paths) {
    const values = items.map((m) => JSON.stringify(evalFhirPath(path, m.resource)));
    const distinct = [...new Set(values)];
    if (distinct.length < 2) continue;
    const differing = items[values.findIndex((v) => v !== values[0])];
    const at = /^[a-zA-Z.]+$/.test(path) ? `Bundle.entry[${differing.index}].resource.${path}` : `Bundle.entry[${differing.index}].resource`;
    issues.push(epsIssue(`Expected all MedicationRequests to have the same value for ${path}. Received [${distinct.map((v) => v.slice(1, -1)).join(',')}].`, at, ofType(path)));
  }
  return issues;
}

/** The prescriber's GMP number, which EPS refuses in place of a professional code. */
function gmpNumberOf(bundle: Bundle, request: MedicationRequest): string | undefined {
  const role = resolve<PractitionerRole>(bundle, request.requester?.reference);
  const practitioner = resolve<Practitioner>(bundle, role?.practitioner?.reference);
  return practitioner?.identifier?.find((i: Identifier) => i.system === 'https://fhir.hl7.org.uk/Id/gmp-number')?.value;
}

function resolve<T>(bundle: Bundle, reference: string | undefined): T | undefined {
  return reference ? (bundle.entry?.find((e) => e.fullUrl === reference)?.resource as T | undefined) : undefined;
}
