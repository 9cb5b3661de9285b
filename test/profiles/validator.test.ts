import { expect } from 'chai';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { OperationOutcomeIssue } from '@medplum/fhirtypes';
import { FhirError } from '../../server/errors';
import { initValidator, isKnownResourceType, validateResource, validationIssues } from '../../profiles/validator';

const FIXTURES = join(__dirname, '../../fixtures/validation');
const EXAMPLES = join(__dirname, '../../fixtures/nhs-examples');

const fixture = (name: string): unknown => JSON.parse(readFileSync(join(FIXTURES, name), 'utf8'));

/** The HTTP status validateResource throws with (200 when it passes) and its issues. */
function outcomeOf(value: unknown): { status: number; issues: OperationOutcomeIssue[] } {
  try {
    validateResource(value);
    return { status: 200, issues: [] };
  } catch (err) {
    if (!(err instanceof FhirError)) throw err;
    return { status: err.status, issues: err.outcome.issue ?? [] };
  }
}

/** Asserts exactly one issue, at `expression`, whose diagnostics match `diagnostics`. */
function expectOneIssue(name: string, status: number, expression: string, diagnostics: RegExp): void {
  const result = outcomeOf(fixture(name));
  expect(result.status, JSON.stringify(result.issues)).to.equal(status);
  expect(result.issues).to.have.length(1);
  expect(result.issues[0].expression).to.deep.equal([expression]);
  expect(result.issues[0].diagnostics).to.match(diagnostics);
}

function expectValid(name: string): void {
  expect(validationIssues(fixture(name))).to.deep.equal([]);
}

describe('base R4 write validator', function () {
  this.timeout(20_000);
  before(() => initValidator());

  describe('1. a resource is a JSON object with an R4 resourceType', () => {
    it('a non-object body is 400 invalid', () => {
      for (const body of [null, [], 'Patient', 42]) {
        const { status, issues } = outcomeOf(body);
        expect(status).to.equal(400);
        expect(issues[0].code).to.equal('invalid');
      }
    });
    it('a missing resourceType is 400 invalid at resourceType', () => {
      const { status, issues } = outcomeOf({ name: [{ family: 'Smith' }] });
      expect(status).to.equal(400);
      expect(issues).to.deep.equal([{ severity: 'error', code: 'invalid', diagnostics: 'A resource needs a string resourceType', expression: ['resourceType'] }]);
    });
    it('an unknown resourceType is 400 invalid at resourceType', () => {
      const { status, issues } = outcomeOf({ resourceType: 'Wizard' });
      expect(status).to.equal(400);
      expect(issues[0].code).to.equal('invalid');
      expect(issues[0].expression).to.deep.equal(['resourceType']);
      expect(issues[0].diagnostics).to.contain("'Wizard'");
    });
    it('isKnownResourceType knows R4 types and not Medplum or R4B ones', () => {
      expect(isKnownResourceType('Patient')).to.equal(true);
      expect(isKnownResourceType('CareTeam')).to.equal(true);
      expect(isKnownResourceType('Project')).to.equal(false);
      expect(isKnownResourceType('SubscriptionStatus')).to.equal(false);
      expect(isKnownResourceType('DomainResource')).to.equal(false);
    });
  });

  describe('2. structure by the R4 JSON schema', () => {
    it("an unknown element is 400 \"Unknown element 'foo'\" at Patient.foo", () => expectOneIssue('patient-unknown-element-foo.json', 400, 'Patient.foo', /^Unknown element 'foo'$/));
    it('a boolean given as a string is a wrong type', () => expectOneIssue('patient-active-as-string.json', 400, 'Patient.active', /Expected boolean but found string/));
    it('a repeating element given as an object is a wrong type', () => expectOneIssue('patient-name-as-object.json', 400, 'Patient.name', /Expected array/));
    it('Patient.gender "bogus" is outside the administrative-gender enum', () => expectOneIssue('patient-gender-bogus.json', 400, 'Patient.gender', /"bogus" is not one of: male, female, other, unknown/));
    it('a contained resource of an unknown type is rejected', () => expectOneIssue('patient-contained-unknown-type.json', 400, 'Patient.contained[0].resourceType', /Unknown resource type 'Wizard'/));
    it('a valid Patient passes', () => expectValid('patient-valid.json'));
    it('every problem of the stage is reported, each with its own expression', () => {
      const issues = validationIssues({ resourceType: 'Patient', foo: 1, active: 'yes', name: [{ given: ['a', 3] }] });
      expect(issues.map((i) => i.expression![0])).to.have.members(['Patient.foo', 'Patient.active', 'Patient.name[0].given[1]']);
    });
  });

  describe('3. primitive values by the R4 JSON format (datatypes.html)', () => {
    it('a date that does not exist (2023-02-30) is invalid', () => expectOneIssue('patient-birthdate-february-30.json', 400, 'Patient.birthDate', /2023-02 has no day 30/));
    it('a date with month 13 is invalid', () => expectOneIssue('patient-birthdate-month-13.json', 400, 'Patient.birthDate', /no month 13/));
    it('29 February of a leap year is a valid date', () => expectValid('patient-birthdate-leap-day.json'));
    it('a complex element given a number or a string is a wrong type (the R4 schema leaves complex types untyped)', () => {
      for (const managingOrganization of [5, 'Organization/x']) {
        const result = outcomeOf({ resourceType: 'Patient', managingOrganization });
        expect(result.status).to.equal(400);
        expect(result.issues[0].expression).to.deep.equal(['Patient.managingOrganization']);
        expect(result.issues[0].diagnostics).to.match(/Expected object/);
      }
    });
    it('a reference to a type its element does not allow is invalid (Slot.schedule is Reference(Schedule)); Reference(Any) takes any', () => {
      const slot = (schedule: string) => ({ resourceType: 'Slot', status: 'free', start: '2027-01-04T09:00:00Z', end: '2027-01-04T09:15:00Z', schedule: { reference: schedule } });
      const wrong = outcomeOf(slot('Patient/x'));
      expect(wrong.status).to.equal(400);
      expect(wrong.issues[0].expression).to.deep.equal(['Slot.schedule.reference']);
      expect(wrong.issues[0].diagnostics).to.match(/refers to Schedule/);
      expect(outcomeOf(slot('Patient?identifier=x')).status).to.equal(400);
      expect(validationIssues(slot('Schedule/x'))).to.deep.equal([]);
      expect(validationIssues(slot('https://elsewhere.example/fhir/Patient/x'))).to.deep.equal([]);
      expect(validationIssues({ resourceType: 'Provenance', target: [{ reference: 'Slot/x' }], recorded: '2027-01-04T09:00:00Z', agent: [{ who: { reference: 'Organization/x' } }] })).to.deep.equal([]);
    });
    it('a narrative is an XHTML div without scripts, event attributes, forms or frames (txt-1), with some content (txt-2)', () => {
      const patient = (div: string) => ({ resourceType: 'Patient', text: { status: 'generated', div } });
      const xhtml = (inner: string) => `<div xmlns="http://www.w3.org/1999/xhtml">${inner}</div>`;
      for (const div of ['not xhtml', '<div>no namespace</div>', xhtml('<script>alert(1)</script>'), xhtml('<p onclick="x()">a</p>'), xhtml('<iframe src="https://x.example"></iframe>'), xhtml('<a href="javascript:alert(1)">a</a>'), xhtml('  ')]) {
        const result = outcomeOf(patient(div));
        expect(result.status, div).to.equal(400);
        expect(result.issues[0].expression).to.deep.equal(['Patient.text.div']);
      }
      expect(validationIssues(patient(xhtml('<p style="color: red">Ada <b>Okafor</b></p><table><tr><td>1</td></tr></table><img src="#photo"/>')))).to.deep.equal([]);
    });
    it('a #id reference names a contained resource of its container (ref-1), from the container or from a sibling', () => {
      const order = (contained: unknown[], medication: string) => ({ resourceType: 'MedicationRequest', status: 'active', intent: 'order', subject: { reference: 'Patient/x' }, medicationReference: { reference: medication }, ...(contained.length ? { contained } : {}) });
      const dangling = outcomeOf(order([], '#med'));
      expect(dangling.status).to.equal(400);
      expect(dangling.issues[0].expression).to.deep.equal(['MedicationRequest.medicationReference.reference']);
      const med = { resourceType: 'Medication', id: 'med', manufacturer: { reference: '#maker' } };
      expect(outcomeOf(order([med], '#med')).status).to.equal(400);
      expect(validationIssues(order([med, { resourceType: 'Organization', id: 'maker' }], '#med'))).to.deep.equal([]);
      // Each resource of a Bundle has contained resources of its own.
      const bundle = { resourceType: 'Bundle', type: 'collection', entry: [{ resource: order([{ resourceType: 'Medication', id: 'med' }], '#med') }, { resource: order([], '#med') }] };
      expect(outcomeOf(bundle).issues.map((i) => i.expression?.[0])).to.deep.equal(['Bundle.entry[1].resource.medicationReference.reference']);
    });
    it('"If hours and minutes are specified, a time zone SHALL be populated" (dateTime)', () =>
      expectOneIssue('patient-deceased-datetime-without-timezone.json', 400, 'Patient.deceasedDateTime', /must have a timezone/));
    it('an instant without a timezone is invalid', () => expectOneIssue('observation-issued-without-timezone.json', 400, 'Observation.issued', /must have a timezone/));
    it('an instant without a time is invalid', () => expectOneIssue('observation-issued-date-only.json', 400, 'Observation.issued', /needs a time/));
    it('a dateTime and an instant with zones pass', () => expectValid('observation-valid.json'));
    it('an integer outside 32 bits is invalid', () => expectOneIssue('observation-value-integer-over-32-bits.json', 400, 'Observation.valueInteger', /between -2147483648 and 2147483647/));
    it('an integer outside 32 bits is invalid in a choice of Patient too', () => expectOneIssue('patient-multiple-birth-over-32-bits.json', 400, 'Patient.multipleBirthInteger', /An integer must be between/));
    it('a positiveInt of 0 is invalid', () => expectOneIssue('appointment-minutes-duration-zero.json', 400, 'Appointment.minutesDuration', /positiveInt must be between 1/));
    it('a negative unsignedInt is invalid', () => expectOneIssue('patient-photo-size-negative.json', 400, 'Patient.photo[0].size', /unsignedInt must be between 0/));
    it('an empty string is invalid', () => expectOneIssue('patient-empty-given-string.json', 400, 'Patient.name[0].given[1]', /Empty string/));
    it('a string of whitespace only is invalid', () => expectOneIssue('patient-whitespace-only-family.json', 400, 'Patient.name[0].family', /only of whitespace/));
    it('an empty object is invalid', () => expectOneIssue('patient-empty-object-in-telecom.json', 400, 'Patient.telecom[0]', /Empty object/));
    it('an empty array is invalid', () => expectOneIssue('patient-empty-address-array.json', 400, 'Patient.address', /Empty array/));
    it('"All FHIR elements must have a @value or children" (ele-1): an id alone is not enough', () =>
      expectOneIssue('patient-only-id-in-maritalstatus.json', 400, 'Patient.maritalStatus', /only an id/));
    it('a choice element given twice (deceasedBoolean + deceasedDateTime) is invalid', () =>
      expectOneIssue('patient-deceased-boolean-and-datetime.json', 400, 'Patient.deceasedDateTime', /'deceased\[x\]' given twice: 'deceasedBoolean' and 'deceasedDateTime'/));
    it('a choice element given twice in an extension (valueString + valueInteger) is invalid', () =>
      expectOneIssue('patient-extension-value-twice.json', 400, 'Patient.extension[0].valueInteger', /'value\[x\]' given twice/));
    it('a single-valued element given as an array is invalid', () => {
      const { status, issues } = outcomeOf({ resourceType: 'Patient', managingOrganization: [{ reference: 'Organization/o1' }] });
      expect(status).to.equal(400);
      expect(issues[0].expression).to.deep.equal(['Patient.managingOrganization']);
    });
    it('a primitive extension (_birthDate) is walked as an Element and passes when valid', () => expectValid('patient-primitive-extension-birthdate.json'));
    it('values inside a primitive extension are checked, with the path of the primitive', () =>
      expectOneIssue('patient-primitive-extension-birthdate-bad-datetime.json', 400, 'Patient.birthDate.extension[0].valueDateTime', /no time 25:30:00/));
    it('an empty primitive extension (_birthDate: {}) is invalid', () => expectOneIssue('patient-primitive-extension-empty.json', 400, 'Patient.birthDate', /Empty object/));
    it('null pads a primitive array only where the _ array has an extension', () => {
      expectValid('patient-given-null-padded-by-extension.json');
      expectOneIssue('patient-given-null-without-extension.json', 400, 'Patient.name[0].given[1]', /Null value/);
    });
    it('contained resources are checked with their own types', () =>
      expectOneIssue('patient-contained-practitioner-february-30.json', 400, 'Patient.contained[0].birthDate', /1960-02 has no day 30/));
    it('Bundle entry resources are checked with their own types', () =>
      expectOneIssue('bundle-entry-patient-february-30.json', 400, 'Bundle.entry[0].resource.birthDate', /2023-02 has no day 30/));
  });

  describe('4. cardinality and invariants by @medplum/core', () => {
    it('a missing mandatory element (Observation.status 1..1) is 422', () => expectOneIssue('observation-missing-status.json', 422, 'Observation.status', /Missing required property/));
    it('"pat-1: SHALL at least contain a contact\'s details or a reference to an organization" is 422', () =>
      expectOneIssue('patient-contact-without-details.json', 422, 'Patient.contact[0]', /^Constraint pat-1 not met/));
    it('invariant issues say which FHIRPath failed', () => {
      const [only] = validationIssues(fixture('patient-contact-without-details.json'));
      expect(only.code).to.equal('invariant');
      expect(only.diagnostics).to.contain('name.exists() or telecom.exists()');
    });
  });

  describe('5. required bindings to core R4 ValueSets', () => {
    it('Condition.clinicalStatus "bogus" is not in the required condition-clinical ValueSet (422)', () =>
      expectOneIssue('condition-clinical-status-bogus.json', 422, 'Condition.clinicalStatus', /bogus is in the required value set http:\/\/hl7.org\/fhir\/ValueSet\/condition-clinical/));
    it('a CodeableConcept with text only does not satisfy a required binding', () =>
      expectOneIssue('condition-clinical-status-text-only.json', 422, 'Condition.clinicalStatus', /No code given/));
    it('Condition.clinicalStatus "active" passes', () => expectValid('condition-clinical-status-valid.json'));
    it('a code element outside its required ValueSet is rejected by code (Patient.gender)', () => {
      const issues = validationIssues(fixture('patient-gender-bogus.json'));
      expect(issues[0].expression).to.deep.equal(['Patient.gender']);
    });
  });

  describe('published examples pass base R4 validation', () => {
    const files = ['ukcore', 'pds'].flatMap((dir) => readdirSync(join(EXAMPLES, dir)).filter((f) => f.endsWith('.json')).map((f) => `${dir}/${f}`));
    for (const file of files) {
      if (file === 'ukcore/UKCore-Appointment-OrthopaedicSurgery-Example.json') continue;
      it(`${file} passes`, () => {
        const example = JSON.parse(readFileSync(join(EXAMPLES, file), 'utf8'));
        expect(validationIssues(example)).to.deep.equal([]);
        expect(validateResource(example)).to.equal(example);
      });
    }
    it('the UK Core Appointment example fails only because its extensions carry "fhir_comments", a pre-R4 JSON key', () => {
      const example = JSON.parse(readFileSync(join(EXAMPLES, 'ukcore/UKCore-Appointment-OrthopaedicSurgery-Example.json'), 'utf8'));
      const issues = validationIssues(example);
      expect(issues.map((i) => [i.expression![0], i.diagnostics])).to.deep.equal([
        ['Appointment.extension[0].fhir_comments', "Unknown element 'fhir_comments'"],
        ['Appointment.extension[1].fhir_comments', "Unknown element 'fhir_comments'"],
      ]);
      for (const extension of example.extension) delete extension.fhir_comments;
      expect(validationIssues(example)).to.deep.equal([]);
    });
    it('the BARS HealthcareService example fails only because providedBy (0..1) is given as an array', () => {
      const example = JSON.parse(readFileSync(join(EXAMPLES, 'bars/healthcare-service.json'), 'utf8'));
      expect(validationIssues(example).map((i) => i.expression![0])).to.deep.equal(['HealthcareService.providedBy']);
    });
  });
});
