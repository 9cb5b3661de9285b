import type { CodeableConcept, Medication, Reference, Resource } from '@medplum/fhirtypes';

export const SNOMED = 'http://snomed.info/sct';
/** dm+d identifiers are SNOMED CT concept ids (https://www.nhsbsa.nhs.uk/pharmacies-gp-practices-and-appliance-contractors/dictionary-medicines-and-devices-dmd). */
export const DMD = 'https://dmd.nhs.uk';
const SAME_CONCEPT_IDS = new Set([SNOMED, DMD]);

/** What a medicine is, however it was coded: product concept keys, active ingredients, and a name. */
export interface MedicineIdentity {
  /** Keys of the product: `sct|<id>` for SNOMED CT and dm+d alike, `<system>|<code>` otherwise, `text|<name>` when uncoded. */
  products: string[];
  /** Active ingredient key → its name (from a Medication resource's ingredients). */
  ingredients: Map<string, string>;
  display: string;
}

/** A resource that names a medicine: MedicationRequest, MedicationStatement, MedicationDispense. */
export interface MedicineBearer {
  medicationCodeableConcept?: CodeableConcept;
  medicationReference?: Reference;
  contained?: Resource[];
}

/** Finds the Medication a reference points at (stored, in a Bundle, or contained); undefined when unknown or hidden. */
export type MedicationLookup = (reference: string) => Medication | undefined;

export function conceptKeys(concept: CodeableConcept | undefined): string[] {
  const keys = (concept?.coding ?? []).filter((c) => c.code).map((c) => (SAME_CONCEPT_IDS.has(c.system ?? '') ? `sct|${c.code}` : `${c.system ?? ''}|${c.code}`));
  if (keys.length === 0 && concept?.text) keys.push(`text|${concept.text.trim().toLowerCase()}`);
  return [...new Set(keys)];
}

export function conceptName(concept: CodeableConcept | undefined): string | undefined {
  return concept?.text ?? concept?.coding?.find((c) => c.display)?.display ?? concept?.coding?.[0]?.code;
}

/** The medicine a request, statement or dispense names, through its Medication resource where it has one. */
export function identify(bearer: MedicineBearer, lookup: MedicationLookup): MedicineIdentity {
  if (bearer.medicationCodeableConcept) {
    const c = bearer.medicationCodeableConcept;
    return { products: conceptKeys(c), ingredients: new Map(), display: conceptName(c) ?? 'Unnamed medicine' };
  }
  const reference = bearer.medicationReference?.reference ?? '';
  const medication = reference.startsWith('#') ? (bearer.contained?.find((r) => r.id === reference.slice(1)) as Medication | undefined) : lookup(reference);
  if (!medication || medication.resourceType !== 'Medication') {
    // An unresolved reference still identifies itself: two requests naming the same Medication are one medicine.
    return { products: reference ? [`ref|${reference}`] : [], ingredients: new Map(), display: bearer.medicationReference?.display ?? reference ?? 'Unnamed medicine' };
  }
  const ingredients = new Map<string, string>();
  for (const ingredient of medication.ingredient ?? []) {
    if (ingredient.isActive === false) continue;
    const item = ingredient.itemCodeableConcept ?? (ingredient.itemReference ? lookup(ingredient.itemReference.reference ?? '')?.code : undefined);
    const name = conceptName(item) ?? ingredient.itemReference?.display ?? 'an ingredient';
    for (const key of conceptKeys(item)) ingredients.set(key, name);
  }
  const products = conceptKeys(medication.code);
  if (products.length === 0 && reference) products.push(`ref|${reference}`);
  return { products, ingredients, display: conceptName(medication.code) ?? bearer.medicationReference?.display ?? 'Unnamed medicine' };
}

export const sharesAny = <T>(a: Iterable<T>, b: { has(value: T): boolean }): boolean => [...a].some((k) => b.has(k));
