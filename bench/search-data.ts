import type { Resource } from '@medplum/fhirtypes';

/**
 * A neighbourhood data set, deterministic from a seed: GP practices, community pharmacies,
 * voluntary organisations, practitioners and their roles, and patients each with a care team,
 * prescriptions and an appointment. About 5.3 resources per patient.
 */
export interface Neighbourhood {
  resources: Resource[];
  /** Values the benchmark searches for, taken from the generated data. */
  probes: { nhsNumber: string; family: string; practitionerId: string; pharmacistId: string; pharmacyId: string; patientId: string };
}

const SCT = 'http://snomed.info/sct';
const FAMILIES = ['Smith', 'Jones', 'Taylor', 'Brown', 'Williams', 'Wilson', 'Johnson', 'Davies', 'Patel', 'Robinson', 'Wright', 'Thompson', 'Evans', 'Walker', 'White', 'Roberts', 'Green', 'Hall', 'Wood', 'Jackson', 'Khan', 'Okafor', 'Nowak', 'Müller', 'Ó Briain', 'Łukasz'];
const GIVEN = ['Olivia', 'Amelia', 'Isla', 'Ava', 'Mia', 'Noah', 'Oliver', 'George', 'Arthur', 'Muhammad', 'Leo', 'Zoë', 'Chloé', 'Aisha', 'Emeka', 'Siân'];
const ROLES = ['768820003', '62247001', '106289002', '46255001', '734294007', '80584001', '224564000', '158997000', '106328005'];
const MEDICINES = ['323509004', '39732311000001104', '317896006', '322236009', '376701008'];

function rng(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** NHS numbers carry a Modulus 11 check digit; 9 digits from n, then the check digit (10 is invalid, skip). */
export function nhsNumber(n: number): string {
  for (let k = n; ; k++) {
    const digits = String(900000000 + (k % 99999999)).padStart(9, '0');
    const sum = [...digits].reduce((s, d, i) => s + Number(d) * (10 - i), 0);
    const check = 11 - (sum % 11);
    if (check === 10) continue;
    return digits + String(check === 11 ? 0 : check);
  }
}

export function generateNeighbourhood(total: number, seed = 42): Neighbourhood {
  const next = rng(seed);
  const pick = <T>(list: T[]): T => list[Math.floor(next() * list.length)];
  const patients = Math.max(10, Math.floor(total / 5.3));
  const practices = Math.max(2, Math.floor(patients / 100));
  const pharmacies = Math.max(2, Math.floor(patients / 70));
  const voluntary = Math.max(1, Math.floor(patients / 200));
  const practitioners = Math.max(4, Math.floor(patients / 10));
  const resources: Resource[] = [];
  const org = (kind: string, i: number, name: string): Resource => ({
    resourceType: 'Organization',
    id: `${kind}-${i}`,
    active: true,
    identifier: [{ system: 'https://fhir.nhs.uk/Id/ods-organization-code', value: `${kind[0].toUpperCase()}${String(i).padStart(5, '0')}` }],
    name,
  });
  for (let i = 0; i < practices; i++) resources.push(org('practice', i, `${pick(FAMILIES)} Medical Centre`));
  for (let i = 0; i < pharmacies; i++) resources.push(org('pharmacy', i, `${pick(FAMILIES)} Pharmacy`));
  for (let i = 0; i < voluntary; i++) resources.push(org('voluntary', i, `${pick(FAMILIES)} Befriending`));
  for (let i = 0; i < practitioners; i++) {
    const pharmacist = i % 4 === 0;
    resources.push({
      resourceType: 'Practitioner',
      id: `pr-${i}`,
      identifier: [{ system: pharmacist ? 'https://fhir.hl7.org.uk/Id/gphc-number' : 'https://fhir.hl7.org.uk/Id/gmc-number', value: String(2000000 + i) }],
      name: [{ family: pick(FAMILIES), given: [pick(GIVEN)] }],
    });
    resources.push({
      resourceType: 'PractitionerRole',
      id: `role-${i}`,
      active: true,
      practitioner: { reference: `Practitioner/pr-${i}` },
      organization: { reference: pharmacist ? `Organization/pharmacy-${i % pharmacies}` : `Organization/practice-${i % practices}` },
      code: [{ coding: [{ system: SCT, code: pharmacist ? '734294007' : pick(ROLES) }] }],
    });
  }
  for (let i = 0; i < patients; i++) {
    const gp = `pr-${(i * 4 + 1) % practitioners}`;
    const pharmacist = `pr-${((i % Math.ceil(practitioners / 4)) * 4) % practitioners}`;
    const year = 1930 + Math.floor(next() * 90);
    const birthDate = `${year}-${String(1 + Math.floor(next() * 12)).padStart(2, '0')}-${String(1 + Math.floor(next() * 28)).padStart(2, '0')}`;
    resources.push({
      resourceType: 'Patient',
      id: `pat-${i}`,
      identifier: [{ system: 'https://fhir.nhs.uk/Id/nhs-number', value: nhsNumber(i * 7 + 13) }],
      name: [{ family: pick(FAMILIES), given: [pick(GIVEN), pick(GIVEN)] }],
      gender: next() < 0.5 ? 'female' : 'male',
      birthDate,
      generalPractitioner: [{ reference: `Organization/practice-${i % practices}` }],
      address: [{ line: [`${1 + (i % 300)} High Street`], city: 'Leeds', postalCode: `LS${1 + (i % 28)} ${i % 10}AB` }],
    });
    resources.push({
      resourceType: 'CareTeam',
      id: `ct-${i}`,
      status: next() < 0.85 ? 'active' : 'inactive',
      subject: { reference: `Patient/pat-${i}` },
      period: { start: `${2018 + (i % 6)}-01-01` },
      participant: [
        { role: [{ coding: [{ system: SCT, code: '768820003' }] }], member: { reference: `Practitioner/${gp}` } },
        { role: [{ coding: [{ system: SCT, code: '46255001' }] }], member: { reference: `Practitioner/${pharmacist}` } },
        { role: [{ coding: [{ system: SCT, code: '106328005' }] }], member: { reference: `Organization/voluntary-${i % voluntary}` } },
      ],
    });
    for (let m = 0; m < 2; m++) {
      resources.push({
        resourceType: 'MedicationRequest',
        id: `mr-${i}-${m}`,
        status: m === 0 ? 'active' : pick(['completed', 'active', 'stopped']),
        intent: 'order',
        subject: { reference: `Patient/pat-${i}` },
        requester: { reference: `Practitioner/${m === 0 ? pharmacist : gp}` },
        performer: { reference: `Organization/pharmacy-${i % pharmacies}` },
        authoredOn: new Date(Date.UTC(2022, 0, 1) + Math.floor(next() * 3 * 365 * 86_400_000)).toISOString(),
        medicationCodeableConcept: { coding: [{ system: SCT, code: pick(MEDICINES) }] },
      } as Resource);
    }
    if (resources.length < total) {
      resources.push({
        resourceType: 'Appointment',
        id: `appt-${i}`,
        status: 'booked',
        start: new Date(Date.UTC(2024, 0, 1) + Math.floor(next() * 365 * 86_400_000)).toISOString(),
        participant: [{ actor: { reference: `Patient/pat-${i}` }, status: 'accepted' }, { actor: { reference: `Practitioner/${gp}` }, status: 'accepted' }],
      } as Resource);
    }
  }
  const probe = Math.floor(patients / 2);
  const patient = resources.find((r) => r.id === `pat-${probe}`) as { identifier: { value: string }[]; name: { family: string }[] };
  return {
    resources,
    probes: {
      nhsNumber: patient.identifier[0].value,
      family: patient.name[0].family.slice(0, 4),
      practitionerId: `pr-${(probe * 4 + 1) % practitioners}`,
      pharmacistId: `pr-${((probe % Math.ceil(practitioners / 4)) * 4) % practitioners}`,
      pharmacyId: `pharmacy-${probe % pharmacies}`,
      patientId: `pat-${probe}`,
    },
  };
}
