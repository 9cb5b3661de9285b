import { expect } from 'chai';
import type { Bundle, MedicationRequest, Resource } from '@medplum/fhirtypes';
import { initValidator, validationIssues } from '../../profiles/validator';
import { sharedExample } from '../support/examples';

// What the NHS examples in fixtures/nhs-examples (written by others) do and do not satisfy.
const profile = (name: string): string => `https://fhir.neighbourhood-hub.example/StructureDefinition/${name}`;
const against = (resource: Resource, name: string): string[] => validationIssues(resource, { profiles: [profile(name)] }).map((i) => i.diagnostics as string);

describe('UK Core, PDS and EPS examples against the neighbourhood profiles', function () {
  this.timeout(60_000);
  before(() => initValidator());

  it('the UK Core Patient (NHS number 9912003888, England verification status 01) satisfies NeighbourhoodPatient', () => {
    expect(against(sharedExample('ukcore/UKCore-Patient-RichardSmith-Example.json'), 'NeighbourhoodPatient')).to.deep.equal([]);
  });

  it('PDS patients code the verification status in UKCore-NHSNumberVerificationStatus, not the England code system UK Core 2.0 binds to', () => {
    for (const file of ['pds/patient.json', 'pds/patient-9000000009.json']) {
      expect(against(sharedExample(file), 'NeighbourhoodPatient')[0], file).to.equal(
        'Patient.identifier[0].extension[0].value: None of the codes https://fhir.hl7.org.uk/CodeSystem/UKCore-NHSNumberVerificationStatus|01 is in the required value set https://fhir.hl7.org.uk/ValueSet/UKCore-NHSNumberVerificationStatus',
      );
    }
  });

  it('the full PDS patient codes its address key type as a Coding, where UK Core 2.0 (Extension-UKCore-AddressKey) has a CodeableConcept', () => {
    expect(against(sharedExample('pds/patient.json'), 'NeighbourhoodPatient').slice(1, 5)).to.deep.equal([
      'Patient.address[0].extension[0].extension[0].value: ExtensionUKCoreAddressKey allows only CodeableConcept here, not Coding',
      'Patient.address[0].extension[1].extension[0].value: ExtensionUKCoreAddressKey allows only CodeableConcept here, not Coding',
      'Patient.address[1].extension[0].extension[0].value: ExtensionUKCoreAddressKey allows only CodeableConcept here, not Coding',
      'Patient.address[1].extension[1].extension[0].value: ExtensionUKCoreAddressKey allows only CodeableConcept here, not Coding',
    ]);
  });

  it('PDS patients carry Extension-UKCore-OtherContactSystem on telecom, where UK Core 2.0 places it on telecom.system', () => {
    for (const file of ['pds/patient.json', 'pds/patient-9000000009.json']) {
      expect(against(sharedExample(file), 'NeighbourhoodPatient'), file).to.include(
        'The extension https://fhir.hl7.org.uk/StructureDefinition/Extension-UKCore-OtherContactSystem may be used on ContactPoint.system, not on Patient.telecom',
      );
    }
  });

  it('the minimal PDS patient also lacks name, gender and birthDate', () => {
    const problems = against(sharedExample('pds/minimal-patient.json'), 'NeighbourhoodPatient');
    expect(problems.slice(1)).to.deep.equal([
      'Patient.name: required by NeighbourhoodPatient, but missing',
      'Patient.gender: required by NeighbourhoodPatient, but missing',
      'Patient.birthDate: required by NeighbourhoodPatient, but missing',
    ]);
  });

  it('the UK Core Organization has an ODS code but no neighbourhood member kind', () => {
    const problems = against(sharedExample('ukcore/UKCore-Organization-WhiteRoseMedicalCentre-Example.json'), 'NeighbourhoodOrganization');
    expect(problems.join('\n')).to.contain("slice 'memberKind'").and.not.contain('odsCode');
  });

  it('the UK Core general practitioner PractitionerRole satisfies NeighbourhoodPractitionerRole', () => {
    expect(against(sharedExample('ukcore/UKCore-PractitionerRole-GeneralPractitioner-Example.json'), 'NeighbourhoodPractitionerRole')).to.deep.equal([]);
  });

  it('the UK Core CareTeam has no neighbourhood category and a participant without a role', () => {
    const problems = against(sharedExample('ukcore/UKCore-CareTeam-WeightManagementTeam-Example.json'), 'NeighbourhoodCareTeam');
    expect(problems).to.include("CareTeam.category: NeighbourhoodCareTeam needs exactly 1 slice 'neighbourhoodTeam'; found 0");
    expect(problems).to.include('CareTeam.participant[0].role: required by NeighbourhoodCareTeam, but missing');
  });

  it("the UK Core Appointment carries XML-conversion 'fhir_comments', which R4 JSON does not allow; without them it satisfies NeighbourhoodAppointment", () => {
    const appointment = sharedExample('ukcore/UKCore-Appointment-OrthopaedicSurgery-Example.json');
    expect(validationIssues(appointment).map((i) => i.diagnostics)).to.include("Unknown element 'fhir_comments'");
    const cleaned = JSON.parse(JSON.stringify(appointment, (key, value) => (key === 'fhir_comments' ? undefined : value))) as Resource;
    expect(against(cleaned, 'NeighbourhoodAppointment')).to.deep.equal([]);
  });

  it('the UK Core amoxicillin MedicationRequest is not a community pharmacist prescription', () => {
    const problems = against(sharedExample('ukcore/UKCore-MedicationRequest-Amoxicillin-Example.json'), 'CommunityPharmacistPrescription');
    expect(problems).to.include('MedicationRequest.medication: the medicine must be a dm+d concept coded in SNOMED CT (system http://snomed.info/sct) (nbh-rx-1)');
    expect(problems.join('\n')).to.contain("Code 'option' is not in the required value set").and.contain('needs a reference to PractitionerRole');
  });

  it("the EPS pharmacist-prescriber order satisfies CommunityPharmacistPrescription but for authoredOn", () => {
    const bundle = sharedExample<Bundle>('eps/pharmacist-prescriber.json');
    const request = bundle.entry!.map((e) => e.resource).find((r): r is MedicationRequest => r?.resourceType === 'MedicationRequest')!;
    expect(against(request, 'CommunityPharmacistPrescription')).to.deep.equal(['MedicationRequest.authoredOn: required by CommunityPharmacistPrescription, but missing']);
    expect(against({ ...request, authoredOn: '2021-05-07T10:00:00+00:00' }, 'CommunityPharmacistPrescription')).to.deep.equal([]);
  });

  it('every example is valid base R4 (apart from the XML-conversion comments)', () => {
    for (const file of ['ukcore/UKCore-Patient-RichardSmith-Example.json', 'pds/patient.json', 'ukcore/UKCore-CareTeam-WeightManagementTeam-Example.json']) {
      expect(validationIssues(sharedExample(file)), file).to.deep.equal([]);
    }
  });
});
