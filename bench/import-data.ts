import { randomUUID } from 'node:crypto';
import type { Bundle, BundleEntry, Resource } from '@medplum/fhirtypes';
import { nhsNumber } from './search-data.js';

const SCT = 'http://snomed.info/sct';
const FAMILIES = ['Smith', 'Jones', 'Taylor', 'Brown', 'Williams', 'Patel', 'Khan', 'Okafor', 'Nowak', 'Evans', 'Ó Briain', 'Wright'];
const GIVEN = ['Olivia', 'Amelia', 'Noah', 'Oliver', 'George', 'Muhammad', 'Zoë', 'Aisha', 'Emeka', 'Siân'];
const MEDICINES = ['323509004', '317896006', '322236009', '376701008'];
/** Patients per bundle: 12 shared resources + 122 × (Patient, CareTeam, MedicationRequest, Appointment) = 500. */
const PATIENTS = 122;

/**
 * Transaction Bundle number `b` of the import benchmark: one neighbourhood of 500 resources (a GP
 * practice, a pharmacy, their practitioners and roles, a clinic and its service, 122 patients each
 * with a care team, a prescription and an appointment), all POSTed and linked by urn:uuid fullUrls.
 */
export function neighbourhoodBundle(b: number): Bundle {
  const entry: BundleEntry[] = [];
  const add = (resource: Resource): string => {
    const fullUrl = `urn:uuid:${randomUUID()}`;
    entry.push({ fullUrl, resource, request: { method: 'POST', url: resource.resourceType } });
    return fullUrl;
  };
  const pick = <T>(list: T[], i: number): T => list[i % list.length];
  const ods = (p: string) => [{ system: 'https://fhir.nhs.uk/Id/ods-organization-code', value: `${p}${String(b).padStart(5, '0')}` }];
  const practice = add({ resourceType: 'Organization', active: true, identifier: ods('B'), name: `${pick(FAMILIES, b)} Medical Centre` });
  const pharmacy = add({ resourceType: 'Organization', active: true, identifier: ods('F'), name: `${pick(FAMILIES, b + 3)} Pharmacy` });
  const practitioners: string[] = [];
  for (let i = 0; i < 4; i++) {
    const pharmacist = i === 3;
    const pr = add({
      resourceType: 'Practitioner',
      identifier: [{ system: pharmacist ? 'https://fhir.hl7.org.uk/Id/gphc-number' : 'https://fhir.hl7.org.uk/Id/gmc-number', value: String(2_000_000 + b * 4 + i) }],
      name: [{ family: pick(FAMILIES, b + i), given: [pick(GIVEN, i)], prefix: [pharmacist ? 'Mx' : 'Dr'] }],
    });
    practitioners.push(pr);
    add({
      resourceType: 'PractitionerRole',
      active: true,
      practitioner: { reference: pr },
      organization: { reference: pharmacist ? pharmacy : practice },
      code: [{ coding: [{ system: SCT, code: pharmacist ? '734294007' : i === 0 ? '768820003' : '62247001' }] }],
    });
  }
  const clinic = add({ resourceType: 'Location', status: 'active', name: 'Nurse clinic', managingOrganization: { reference: practice } });
  add({ resourceType: 'HealthcareService', active: true, name: 'Long-term conditions review', providedBy: { reference: practice }, location: [{ reference: clinic }] });
  for (let p = 0; p < PATIENTS; p++) {
    const n = b * PATIENTS + p;
    const patient = add({
      resourceType: 'Patient',
      identifier: [{ system: 'https://fhir.nhs.uk/Id/nhs-number', value: nhsNumber(n) }],
      name: [{ family: pick(FAMILIES, n), given: [pick(GIVEN, n), pick(GIVEN, n + 5)] }],
      gender: n % 2 ? 'female' : 'male',
      birthDate: `${1930 + (n % 80)}-${String(1 + (n % 12)).padStart(2, '0')}-${String(1 + (n % 28)).padStart(2, '0')}`,
      address: [{ line: [`${1 + (n % 300)} High Street`], city: 'Leeds', postalCode: `LS${1 + (n % 28)} ${n % 10}AB` }],
      generalPractitioner: [{ reference: practice }],
    });
    add({
      resourceType: 'CareTeam',
      status: 'active',
      subject: { reference: patient },
      participant: [
        { role: [{ coding: [{ system: SCT, code: '768820003' }] }], member: { reference: practitioners[0] } },
        { role: [{ coding: [{ system: SCT, code: '46255001' }] }], member: { reference: practitioners[3] }, onBehalfOf: { reference: pharmacy } },
      ],
      managingOrganization: [{ reference: practice }],
    });
    add({
      resourceType: 'MedicationRequest',
      status: 'active',
      intent: 'order',
      subject: { reference: patient },
      requester: { reference: practitioners[p % 3] },
      performer: { reference: pharmacy },
      authoredOn: new Date(Date.UTC(2025, 0, 1) + n * 60_000).toISOString(),
      medicationCodeableConcept: { coding: [{ system: SCT, code: pick(MEDICINES, n) }] },
    } as Resource);
    add({
      resourceType: 'Appointment',
      status: 'booked',
      start: new Date(Date.UTC(2026, 0, 5, 9) + (n % 2000) * 900_000).toISOString(),
      end: new Date(Date.UTC(2026, 0, 5, 9) + (n % 2000) * 900_000 + 600_000).toISOString(),
      participant: [
        { actor: { reference: patient }, status: 'accepted' },
        { actor: { reference: practitioners[p % 3] }, status: 'accepted' },
        { actor: { reference: clinic }, status: 'accepted' },
      ],
    } as Resource);
  }
  return { resourceType: 'Bundle', type: 'transaction', entry };
}
