import type { MedicationDispense, MedicationRequest, MedicationStatement, Organization, Practitioner, PractitionerRole, Resource } from '@medplum/fhirtypes';
import { parseLocal } from '../fhir/reference.js';
import { medicationLookup, type MedicationRecords } from './gather.js';
import { identify, sharesAny, type MedicationLookup, type MedicineIdentity } from './medicine-identity.js';

/** Who authorised one request: the organisation and role it was issued under. */
export interface Prescriber {
  request: MedicationRequest;
  /** Tells two organisations apart: `Organization/id`, an ODS `system|value`, or the requester reference when no organisation is known. */
  organisationKey: string;
  organization?: Organization;
  /** `Organization/id` when the organisation is a resource on this server. */
  organizationReference?: string;
  role?: PractitionerRole;
  roleReference?: string;
  practitioner?: Practitioner;
  authoredOn?: string;
}

/** One medicine in use, however many records and prescribers name it. */
export interface Medicine {
  identity: MedicineIdentity;
  requests: MedicationRequest[];
  statements: MedicationStatement[];
  prescribers: Prescriber[];
  lastDispense?: MedicationDispense;
  lastAuthorised?: string;
  lastDispensed?: string;
}

/** Groups a patient's records into medicines: records sharing a product concept are one medicine. */
export function groupMedicines(records: MedicationRecords, baseUrl: string, extra?: MedicationLookup): Medicine[] {
  const known = medicationLookup(records.referenced, baseUrl);
  const lookup: MedicationLookup = (ref) => known(ref) ?? extra?.(ref);
  const medicines: Medicine[] = [];
  const place = (identity: MedicineIdentity): Medicine => {
    const same = medicines.filter((m) => sharesAny(identity.products, new Set(m.identity.products)));
    const target = same[0] ?? { identity: { products: [], ingredients: new Map(), display: identity.display }, requests: [], statements: [], prescribers: [] };
    if (!same.length) medicines.push(target);
    // A record naming two medicines' concepts joins them into one.
    for (const other of same.slice(1)) {
      mergeInto(target, other);
      medicines.splice(medicines.indexOf(other), 1);
    }
    target.identity.products = [...new Set([...target.identity.products, ...identity.products])];
    for (const [k, v] of identity.ingredients) target.identity.ingredients.set(k, v);
    return target;
  };
  for (const request of records.requests) {
    const medicine = place(identify(request, lookup));
    medicine.requests.push(request);
    medicine.prescribers.push(prescriberOf(request, records.referenced, baseUrl));
  }
  for (const statement of records.statements) place(identify(statement, lookup)).statements.push(statement);
  for (const dispense of records.dispenses) attachDispense(dispense, medicines, identify(dispense, lookup), baseUrl);
  for (const m of medicines) {
    m.lastAuthorised = latest(m.requests.map((r) => r.authoredOn));
    m.lastDispensed = m.lastDispense && dispensedAt(m.lastDispense);
    m.prescribers.sort((a, b) => (b.authoredOn ?? '').localeCompare(a.authoredOn ?? ''));
  }
  return medicines;
}

function mergeInto(target: Medicine, other: Medicine): void {
  target.identity.products.push(...other.identity.products);
  for (const [k, v] of other.identity.ingredients) target.identity.ingredients.set(k, v);
  target.requests.push(...other.requests);
  target.statements.push(...other.statements);
  target.prescribers.push(...other.prescribers);
}

/** The latest dispense of a medicine: by the prescription it fulfils, else by its product concept. */
function attachDispense(dispense: MedicationDispense, medicines: Medicine[], identity: MedicineIdentity, baseUrl: string): void {
  const prescriptions = new Set((dispense.authorizingPrescription ?? []).map((r) => localReference(r.reference, baseUrl)));
  const medicine =
    medicines.find((m) => m.requests.some((r) => prescriptions.has(`MedicationRequest/${r.id}`))) ?? medicines.find((m) => sharesAny(identity.products, new Set(m.identity.products)));
  if (!medicine) return; // a dispense of a medicine no longer in use
  if (!medicine.lastDispense || (dispensedAt(dispense) ?? '') > (dispensedAt(medicine.lastDispense) ?? '')) medicine.lastDispense = dispense;
}

const dispensedAt = (d: MedicationDispense): string | undefined => d.whenHandedOver ?? d.whenPrepared;

function latest(dates: Array<string | undefined>): string | undefined {
  return dates.filter((d): d is string => !!d).sort().pop();
}

function localReference(reference: string | undefined, baseUrl: string): string | undefined {
  if (!reference) return undefined;
  const ref = parseLocal(reference, baseUrl);
  return ref && `${ref.resourceType}/${ref.id}`;
}

/** The organisation, role and practitioner behind a request's requester (a PractitionerRole, Organization or Practitioner). */
export function prescriberOf(request: MedicationRequest, referenced: Map<string, Resource>, baseUrl: string): Prescriber {
  const requester = request.requester;
  const get = (reference: string | undefined): Resource | undefined => {
    if (reference?.startsWith('#')) return request.contained?.find((r) => r.id === reference.slice(1));
    const local = localReference(reference, baseUrl);
    return local ? referenced.get(local) : undefined;
  };
  const found = get(requester?.reference);
  const role = found?.resourceType === 'PractitionerRole' ? found : undefined;
  const orgReference = role ? role.organization : found?.resourceType === 'Organization' || requester?.type === 'Organization' ? requester : undefined;
  const org = role ? get(role.organization?.reference) : found;
  const practitioner = role ? get(role.practitioner?.reference) : found;
  const organizationReference = localReference(orgReference?.reference, baseUrl);
  const identifier = orgReference?.identifier;
  return {
    request,
    organisationKey: organizationReference ?? (identifier ? `${identifier.system}|${identifier.value}` : (requester?.reference ?? `request:${request.id}`)),
    organization: org?.resourceType === 'Organization' ? org : undefined,
    organizationReference,
    role,
    roleReference: role ? localReference(requester?.reference, baseUrl) : undefined,
    practitioner: practitioner?.resourceType === 'Practitioner' ? practitioner : undefined,
    authoredOn: request.authoredOn,
  };
}

/** How a draft prescription repeats what the patient already has. */
export interface Duplication {
  medicine: Medicine;
  /** Absent when it is the same medicine; the shared active ingredient's name otherwise. */
  ingredient?: string;
}

/** The medicines in use that a new prescription duplicates: the same product concept, or a shared active ingredient. */
export function duplicationsOf(identity: MedicineIdentity, medicines: Medicine[]): Duplication[] {
  const found: Duplication[] = [];
  for (const medicine of medicines) {
    if (sharesAny(identity.products, new Set(medicine.identity.products))) {
      found.push({ medicine });
      continue;
    }
    const shared = [...identity.ingredients.keys()].find((k) => medicine.identity.ingredients.has(k));
    if (shared) found.push({ medicine, ingredient: identity.ingredients.get(shared) });
  }
  return found;
}

/** Polypharmacy: 10 or more medicines in use at once (NHS England structured medication review criteria). */
export const POLYPHARMACY_THRESHOLD = 10;
