import type { Patient } from '@medplum/fhirtypes';

export const NHS_NUMBER = 'https://fhir.nhs.uk/Id/nhs-number';
export type MatchGrade = 'certain' | 'probable' | 'possible';

export interface ScoredMatch {
  patient: Patient;
  score: number;
  grade: MatchGrade;
}

// Weights of agreeing demographics; they sum to 1. The NHS number alone makes a match certain.
const WEIGHTS = { family: 0.3, given: 0.2, birthDate: 0.3, gender: 0.1, postcode: 0.1 };
const PROBABLE = 0.8;
const POSSIBLE = 0.5;

const norm = (s: string | undefined): string => (s ?? '').normalize('NFD').replace(/[\u0300-\u036f]/g, '').toLowerCase().replace(/\s+/g, '');

export const nhsNumber = (p: Patient): string | undefined => p.identifier?.find((i) => i.system === NHS_NUMBER)?.value;
const families = (p: Patient): string[] => (p.name ?? []).map((n) => norm(n.family)).filter(Boolean);
const givens = (p: Patient): string[] => (p.name ?? []).flatMap((n) => n.given ?? []).map(norm).filter(Boolean);
const postcodes = (p: Patient): string[] => (p.address ?? []).map((a) => norm(a.postalCode)).filter(Boolean);
const overlap = (a: string[], b: string[]): boolean => a.some((x) => b.includes(x));

/**
 * Scores a candidate against the patient sought (https://hl7.org/fhir/R4/patient-operation-match.html):
 * same NHS number is certain; a different NHS number is certainly not; otherwise agreeing
 * demographics add up to a probable or possible match.
 */
export function scoreCandidate(sought: Patient, candidate: Patient): ScoredMatch | undefined {
  const a = nhsNumber(sought);
  const b = nhsNumber(candidate);
  if (a && b) return a === b ? { patient: candidate, score: 1, grade: 'certain' } : undefined;
  let score = 0;
  if (overlap(families(sought), families(candidate))) score += WEIGHTS.family;
  if (overlap(givens(sought), givens(candidate))) score += WEIGHTS.given;
  if (sought.birthDate && sought.birthDate === candidate.birthDate) score += WEIGHTS.birthDate;
  if (sought.gender && sought.gender === candidate.gender) score += WEIGHTS.gender;
  if (overlap(postcodes(sought), postcodes(candidate))) score += WEIGHTS.postcode;
  score = Math.round(score * 100) / 100;
  if (score >= PROBABLE) return { patient: candidate, score, grade: 'probable' };
  if (score >= POSSIBLE) return { patient: candidate, score, grade: 'possible' };
  return undefined;
}

/** Searches that find every candidate worth scoring: the NHS number, or any one strong demographic. */
export function candidateSearches(sought: Patient): URLSearchParams[] {
  const searches: URLSearchParams[] = [];
  const nhs = nhsNumber(sought);
  if (nhs) searches.push(new URLSearchParams({ identifier: `${NHS_NUMBER}|${nhs}` }));
  const family = sought.name?.find((n) => n.family)?.family;
  if (family) searches.push(new URLSearchParams({ 'family:exact': family }));
  if (sought.birthDate) searches.push(new URLSearchParams({ birthdate: sought.birthDate }));
  return searches;
}
