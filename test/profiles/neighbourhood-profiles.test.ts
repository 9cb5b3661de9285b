import { expect } from 'chai';
import { readdirSync } from 'node:fs';
import path from 'node:path';
import type { OperationOutcomeIssue, Resource } from '@medplum/fhirtypes';
import { initValidator, validationIssues, validationReport } from '../../profiles/validator';
import { fixture, FIXTURES } from '../support/examples';

/** The issues of an invalid fixture in fixtures/validation/neighbourhood. */
const issuesOf = (name: string): OperationOutcomeIssue[] => validationIssues(fixture(`validation/neighbourhood/${name}.json`));

function expectOne(name: string, expression: string, diagnostics: RegExp): void {
  const issues = issuesOf(name);
  expect(issues, JSON.stringify(issues)).to.have.length(1);
  expect(issues[0].expression).to.deep.equal([expression]);
  expect(issues[0].diagnostics).to.match(diagnostics);
}

describe('neighbourhood profiles (validation on their rules)', function () {
  this.timeout(60_000);
  before(() => initValidator());

  it('every resource of the neighbourhood fixtures is valid against the profiles it claims', () => {
    const files = readdirSync(path.join(FIXTURES, 'neighbourhood'));
    expect(files.length).to.be.greaterThan(40);
    for (const file of files) {
      const resource = fixture<Resource>(`neighbourhood/${file}`);
      expect(validationIssues(resource), file).to.deep.equal([]);
    }
  });

  describe('NeighbourhoodPatient', () => {
    for (const [name, value] of [
      ['patient-nhs-number-wrong-check-digit', '9990000019'],
      ['patient-nhs-number-digits-swapped', '9990000108'],
      ['patient-nhs-number-too-short', '123456789'],
    ]) {
      it(`an NHS number failing Modulus 11 (${value}) breaks nbh-pat-1 at the identifier`, () => {
        expectOne(name, 'Patient.identifier[0]', new RegExp(`^Patient.identifier\\[0\\]: an NHS number is 10 digits .*Modulus 11.*; found '${value}' \\(nbh-pat-1\\)$`));
      });
    }
    it('a patient without an NHS number misses the nhsNumber slice', () => {
      expectOne('patient-without-nhs-number', 'Patient.identifier', /needs exactly 1 The patient's NHS number \(slice 'nhsNumber'\); found 0/);
    });
    it('gender and birthDate are required', () => {
      expect(issuesOf('patient-without-birthdate-and-gender').map((i) => i.diagnostics)).to.deep.equal([
        'Patient.gender: required by NeighbourhoodPatient, but missing',
        'Patient.birthDate: required by NeighbourhoodPatient, but missing',
      ]);
    });
    it('the verification status must be one of the England codes 01-08 (required binding in the UK Core extension)', () => {
      expectOne('patient-verification-status-09', 'Patient.identifier[0].extension[0].value', /UKCore-NHSNumberVerificationStatusEngland\|09 is in the required value set/);
    });
    it('generalPractitioner is a GP practice Organization, not a Practitioner', () => {
      expectOne('patient-gp-is-a-practitioner', 'Patient.generalPractitioner[0]', /needs a reference to Organization; found Practitioner\/prac-amara-okafor/);
    });
  });

  describe('NeighbourhoodOrganization', () => {
    it('an ODS code identifier is required', () => expectOne('organization-without-ods-code', 'Organization.identifier', /ODS code \(slice 'odsCode'\); found 0/));
    it('the type must include a neighbourhood member kind', () => expectOne('organization-type-not-a-member-kind', 'Organization.type', /slice 'memberKind'/));
  });

  describe('NeighbourhoodPractitionerRole', () => {
    it('at least one role code comes from neighbourhood-roles', () => expectOne('practitionerrole-without-neighbourhood-role', 'PractitionerRole.code', /slice 'neighbourhoodRole'\); found 0/));
    it('organization is required', () => expectOne('practitionerrole-without-organization', 'PractitionerRole.organization', /required by NeighbourhoodPractitionerRole/));
  });

  describe('NeighbourhoodCareTeam', () => {
    it('an active team without a current care coordinator breaks nbh-ct-1, in words', () => {
      const issues = issuesOf('careteam-without-coordinator');
      expect(issues).to.deep.equal([
        {
          severity: 'error',
          code: 'invariant',
          diagnostics: 'CareTeam.participant: an active neighbourhood care team needs exactly one current care coordinator (SNOMED 768820003); found 0 (nbh-ct-1)',
          expression: ['CareTeam.participant'],
        },
      ]);
    });
    it('two current coordinators are one too many', () => expectOne('careteam-two-coordinators', 'CareTeam.participant', /exactly one current care coordinator .*; found 2/));
    it('a coordinator whose period has ended is not current', () => expectOne('careteam-coordinator-period-ended', 'CareTeam.participant', /found 0/));
    it('an inactive team needs no coordinator', () => expect(issuesOf('careteam-inactive-without-coordinator-valid')).to.deep.equal([]));
    it('the neighbourhood-team category is required', () => expectOne('careteam-without-neighbourhood-category', 'CareTeam.category', /slice 'neighbourhoodTeam'/));
    it('participant roles come from neighbourhood-roles', () => expectOne('careteam-participant-role-not-neighbourhood', 'CareTeam.participant[1].role[0]', /309343006 is in the required value set .*neighbourhood-roles/));
    it('a member may not be another CareTeam', () => expectOne('careteam-member-is-a-careteam', 'CareTeam.participant[1].member', /found CareTeam\/ct-derek-brown/));
  });

  describe('CommunityPharmacistPrescription', () => {
    it('substitution.allowedBoolean is fixed to false', () => expectOne('prescription-substitution-allowed', 'MedicationRequest.substitution.allowed', /must be false .*; found true/));
    it('the medicine is coded in SNOMED CT (dm+d), not https://dmd.nhs.uk', () => expectOne('prescription-medicine-not-snomed', 'MedicationRequest.medication', /dm\+d concept coded in SNOMED CT .*\(nbh-rx-1\)/));
    it('intent is order, original-order or instance-order', () => expectOne('prescription-intent-plan', 'MedicationRequest.intent', /'plan' is not in the required value set/));
    it('dispenseRequest.performer (the pharmacy) is required', () => expectOne('prescription-without-pharmacy', 'MedicationRequest.dispenseRequest.performer', /required by CommunityPharmacistPrescription/));
    it('the requester rule needs the store, so the resource alone passes validateResource', () => expect(issuesOf('prescription-requester-not-a-prescriber')).to.deep.equal([]));
  });

  describe('NeighbourhoodAppointment', () => {
    it('a booked appointment ending before it starts breaks nbh-appt-1', () => expectOne('appointment-booked-end-before-start', 'Appointment.start', /needs a start and an end, the end after the start \(nbh-appt-1\)/));
    it('exactly one Patient participant', () => expectOne('appointment-two-patients', 'Appointment.participant', /exactly one Patient participant; found 2/));
    it('at least one practitioner, role or service', () => expectOne('appointment-without-practitioner', 'Appointment.participant', /nbh-appt-3/));
    it('the UK Core delivery channel binding is checked', () => expectOne('appointment-delivery-channel-unknown', 'Appointment.extension[0].value', /Carrier-pigeon/));
    it('serviceType is required', () => expectOne('appointment-without-service-type', 'Appointment.serviceType', /required by NeighbourhoodAppointment/));
    it('claiming a profile the server does not hold is a warning naming it, not a problem (as the HL7 validator does)', () => {
      const appointment = fixture(`validation/neighbourhood/appointment-claims-unknown-profile.json`);
      expect(validationIssues(appointment)).to.deep.equal([]);
      const [warning] = validationReport(appointment);
      expect(warning.severity).to.equal('warning');
      expect(warning.expression).to.deep.equal(['Appointment.meta.profile']);
      expect(warning.diagnostics).to.match(/NoSuchProfile is not known to this server/);
    });
  });

  it('a profile for another type is refused', () => {
    const patient = fixture<Resource>('neighbourhood/05-patient-pat-margaret-jones.json');
    const issues = validationIssues(patient, { profiles: ['https://fhir.neighbourhood-hub.example/StructureDefinition/NeighbourhoodCareTeam'] });
    expect(issues[0].diagnostics).to.match(/is for CareTeam, not Patient/);
  });
});
