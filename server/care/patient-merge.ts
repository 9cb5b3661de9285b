import type { Identifier, Patient, Resource } from '@medplum/fhirtypes';
import { unprocessable } from '../errors.js';
import { parseLocal } from '../fhir/reference.js';
import { referenceSites } from '../fhir/reference-sites.js';
import { NHS_NUMBER } from './patient-match.js';

/**
 * The pure part of Patient/$merge (https://hl7.org/fhir/patient-operation-merge.html, R5, offered on R4):
 * the checks that refuse a merge that would lose data, and the rewritten resources.
 */
export function checkMergeable(source: Patient, target: Patient, result?: Patient): void {
  if (source.id === target.id) throw unprocessable('The source and target are the same patient', 'Parameters.parameter.source-patient');
  if (source.link?.some((l) => l.type === 'replaced-by')) {
    throw unprocessable(`Patient/${source.id} was already merged into ${source.link.find((l) => l.type === 'replaced-by')?.other.reference}`, 'Parameters.parameter.source-patient');
  }
  if (target.link?.some((l) => l.type === 'replaced-by')) {
    throw unprocessable(`Patient/${target.id} has itself been replaced; merge into its replacement instead`, 'Parameters.parameter.target-patient');
  }
  if (result && result.id !== target.id) throw unprocessable(`result-patient must have the target's id (${target.id})`, 'Parameters.parameter.result-patient.id');
  const conflict = conflictingIdentifier(source.identifier ?? [], (result ?? target).identifier ?? []);
  if (conflict) {
    throw unprocessable(
      `The patients carry different ${conflict.system === NHS_NUMBER ? 'NHS numbers' : `identifiers in ${conflict.system}`} (${conflict.a} and ${conflict.b}); merging would lose one. Resolve it first.`,
      'Parameters.parameter.source-patient',
    );
  }
}

/** Two values in a system that allows one per person (the NHS number) is a conflict. */
function conflictingIdentifier(a: Identifier[], b: Identifier[]): { system: string; a: string; b: string } | undefined {
  for (const x of a) {
    if (x.system !== NHS_NUMBER || !x.value) continue;
    const y = b.find((i) => i.system === x.system && i.value && i.value !== x.value);
    if (y) return { system: x.system, a: x.value, b: y.value as string };
  }
  return undefined;
}

/** The target after the merge: result-patient if given, else the target with the source's identifiers added, linked to the source. */
export function mergedTarget(source: Patient, target: Patient, result?: Patient): Patient {
  const base = structuredClone(result ?? target);
  if (!result) {
    const have = new Set((base.identifier ?? []).map((i) => `${i.system}|${i.value}`));
    const extra = (source.identifier ?? []).filter((i) => !have.has(`${i.system}|${i.value}`)).map((i) => ({ ...i, use: i.use ?? ('old' as const) }));
    if (extra.length) base.identifier = [...(base.identifier ?? []), ...extra];
  }
  base.link = [...(base.link ?? []).filter((l) => l.other.reference !== `Patient/${source.id}`), { other: { reference: `Patient/${source.id}` }, type: 'replaces' }];
  return base;
}

/** The source after the merge: inactive and pointing at its survivor. */
export function retiredSource(source: Patient, targetId: string): Patient {
  return { ...structuredClone(source), active: false, link: [...(source.link ?? []), { other: { reference: `Patient/${targetId}` }, type: 'replaced-by' }] };
}

/** A copy of the resource with every reference to the source pointing at the target; undefined if none did. */
export function repointed(resource: Resource, sourceId: string, targetId: string, baseUrl: string): Resource | undefined {
  const copy = structuredClone(resource);
  let changed = false;
  for (const site of referenceSites(copy, copy.resourceType)) {
    const ref = parseLocal(site.value, baseUrl);
    if (ref?.resourceType === 'Patient' && ref.id === sourceId) {
      site.holder.reference = `Patient/${targetId}`;
      changed = true;
    }
  }
  return changed ? copy : undefined;
}
