// Patient: find by NHS number or name, then the joined-up view: demographics, care coordinator and
// team ($care-team), upcoming appointments, current medicines with prescribers and warnings, open referrals.
import { useState } from 'preact/hooks';
import { html } from '../html.js';
import { concept, humanName, nhsNumber, NHS_NUMBER, resolver } from '../fhir-text.js';
import { Empty, Field, Loaded, Problem, Table, useLoad, when } from '../ui.js';

const CARE_COORDINATOR = '768820003';
const matches = (bundle, type) => (bundle?.entry ?? []).filter((e) => e.search?.mode !== 'outcome' && e.search?.mode !== 'include' && e.resource?.resourceType === type).map((e) => e.resource);
const isCoordinator = (p) => p.role?.some((r) => r.coding?.some((c) => c.code === CARE_COORDINATOR));

/** A search for what was typed: ten digits are an NHS number, anything else a name. */
function findQuery(text) {
  const digits = text.replace(/\s/g, '');
  return /^\d{10}$/.test(digits) ? `Patient?identifier=${encodeURIComponent(`${NHS_NUMBER}|${digits}`)}&_count=20` : `Patient?name=${encodeURIComponent(text)}&_count=20`;
}

async function joinedUp(session, id) {
  const today = new Date().toISOString().slice(0, 10);
  const patient = `Patient/${id}`;
  const [person, team, appointments, medicines, issues, referrals] = await Promise.all([
    session.fhir(`Patient?_id=${encodeURIComponent(id)}&_include=Patient:general-practitioner`),
    session.fhir(`Patient/${id}/$care-team`),
    session.fhir(`Appointment?patient=${patient}&date=ge${today}&_sort=date&_count=50&_include=Appointment:actor&_include:iterate=PractitionerRole:practitioner&_include:iterate=PractitionerRole:organization`),
    session.fhir(`MedicationRequest?patient=${patient}&status=active&_count=100&_include=MedicationRequest:requester&_include:iterate=PractitionerRole:practitioner&_include:iterate=PractitionerRole:organization`),
    session.fhir(`DetectedIssue?patient=${patient}&_count=100`),
    session.fhir(`ServiceRequest?patient=${patient}&status=active&_count=50&_include=ServiceRequest:performer`),
  ]);
  return { person, team, appointments, medicines, issues, referrals };
}

function Demographics({ patient, refs }) {
  const address = patient.address?.[0];
  return html`<section aria-labelledby="demo-h">
    <h2 id="demo-h" data-testid="patient-name">${humanName(patient.name)}</h2>
    <dl class="facts">
      <dt>NHS number</dt><dd>${nhsNumber(patient)}</dd>
      <dt>Born</dt><dd>${patient.birthDate ?? 'not recorded'}</dd>
      <dt>Gender</dt><dd>${patient.gender ?? 'not recorded'}</dd>
      <dt>Address</dt><dd>${address ? (address.text ?? [...(address.line ?? []), address.city, address.postalCode].filter(Boolean).join(', ')) : 'not recorded'}</dd>
      <dt>Contact</dt><dd>${patient.telecom?.map((t) => t.value).join(', ') || 'not recorded'}</dd>
      <dt>Registered GP</dt><dd>${patient.generalPractitioner?.map((g) => refs.name(g)).join('; ') || 'not recorded'}</dd>
    </dl>
  </section>`;
}

function CareTeam({ team }) {
  const refs = resolver([team]);
  const teams = matches(team, 'CareTeam');
  const members = teams.flatMap((t) => (t.participant ?? []).map((p) => ({ team: t, p })));
  const coordinators = members.filter((m) => isCoordinator(m.p));
  const said = team.entry?.find((e) => e.search?.mode === 'outcome')?.resource?.issue?.[0]?.diagnostics;
  return html`<section aria-labelledby="team-h">
    <h2 id="team-h">Care coordinator and team</h2>
    ${coordinators.length
      ? html`<p class="coordinator" data-testid="coordinator">Care coordinator: <strong>${coordinators.map((c) => refs.name(c.p.member)).join('; ')}</strong></p>`
      : html`<${Empty}>${said ?? 'This patient has no named care coordinator.'}<//>`}
    <${Table}
      caption="Members of the patient's active care teams"
      rows=${members}
      empty="The patient is in no active care team."
      columns=${[
        { label: 'Member', cell: (m) => refs.name(m.p.member) },
        { label: 'Role', cell: (m) => (m.p.role ?? []).map(concept).join(', ') },
        { label: 'Since', cell: (m) => m.p.period?.start ?? '—' },
        { label: 'Team', cell: (m) => m.team.name ?? m.team.id },
      ]}
    />
  </section>`;
}

function Appointments({ bundle }) {
  const refs = resolver([bundle]);
  const list = matches(bundle, 'Appointment');
  return html`<section aria-labelledby="appt-h">
    <h2 id="appt-h">Upcoming appointments</h2>
    <${Table}
      caption="From today, soonest first, across every organisation"
      rows=${list}
      rowKey=${(a) => a.id}
      empty="No upcoming appointments."
      columns=${[
        { label: 'When', cell: (a) => when(a.start) },
        { label: 'Service', cell: (a) => (a.serviceType ?? []).map(concept).join(', ') || concept(a.appointmentType) || a.description || '—' },
        { label: 'With', cell: (a) => (a.participant ?? []).filter((p) => !p.actor?.reference?.startsWith('Patient/')).map((p) => refs.name(p.actor)).join('; ') },
        { label: 'Status', cell: (a) => a.status },
      ]}
    />
  </section>`;
}

function Medicines({ bundle, issues }) {
  const refs = resolver([bundle]);
  const list = matches(bundle, 'MedicationRequest');
  const warnings = matches(issues, 'DetectedIssue').filter((d) => d.status !== 'cancelled' && d.status !== 'entered-in-error');
  const warningsFor = (rx) => warnings.filter((d) => d.implicated?.some((i) => i.reference?.endsWith(`MedicationRequest/${rx.id}`)));
  return html`<section aria-labelledby="meds-h">
    <h2 id="meds-h">Current medicines</h2>
    <${Table}
      caption="Active prescriptions from every prescriber"
      rows=${list}
      rowKey=${(m) => m.id}
      empty="No current medicines are recorded."
      columns=${[
        { label: 'Medicine', cell: (m) => concept(m.medicationCodeableConcept) || refs.name(m.medicationReference) },
        { label: 'Dose', cell: (m) => m.dosageInstruction?.map((d) => d.text).filter(Boolean).join('; ') || '—' },
        { label: 'Prescriber', cell: (m) => refs.name(m.requester) || '—' },
        { label: 'Written', cell: (m) => when(m.authoredOn) },
        { label: 'Warnings', cell: (m) => warningsFor(m).map((d) => d.detail ?? concept(d.code)).join('; ') || 'none' },
      ]}
    />
    ${warnings.filter((d) => !d.implicated?.length).map((d) => html`<p class="warning">${d.detail ?? concept(d.code)}</p>`)}
  </section>`;
}

function Referrals({ bundle }) {
  const refs = resolver([bundle]);
  return html`<section aria-labelledby="ref-h">
    <h2 id="ref-h">Open referrals</h2>
    <${Table}
      caption="Active service requests"
      rows=${matches(bundle, 'ServiceRequest')}
      rowKey=${(r) => r.id}
      empty="No open referrals."
      columns=${[
        { label: 'For', cell: (r) => concept(r.code) || '—' },
        { label: 'To', cell: (r) => (r.performer ?? []).map((p) => refs.name(p)).join('; ') || '—' },
        { label: 'Requested', cell: (r) => when(r.authoredOn) },
        { label: 'Priority', cell: (r) => r.priority ?? 'routine' },
      ]}
    />
  </section>`;
}

function PatientView({ session, id, onBack }) {
  const state = useLoad(() => joinedUp(session, id), [session, id]);
  return html`<div class="patient">
    <button type="button" onClick=${onBack}>Back to the search</button>
    <${Loaded} state=${state} what="the patient's record">
      ${(d) => {
        const patient = matches(d.person, 'Patient')[0];
        if (!patient) return html`<${Problem} error=${new Error(`Patient/${id} is not in the hub (it may have been deleted or merged).`)} />`;
        return html`
          <${Demographics} patient=${patient} refs=${resolver([d.person])} />
          <${CareTeam} team=${d.team} />
          <${Appointments} bundle=${d.appointments} />
          <${Medicines} bundle=${d.medicines} issues=${d.issues} />
          <${Referrals} bundle=${d.referrals} />
          <p><a href=${`#audit?patient=${encodeURIComponent(id)}`}>Who has accessed this record</a></p>`;
      }}
    <//>
  </div>`;
}

export function PatientPage({ session }) {
  const [query, setQuery] = useState();
  const [chosen, setChosen] = useState();
  const results = useLoad(() => (query ? session.fhir(findQuery(query)) : Promise.resolve(undefined)), [session, query]);
  if (chosen) return html`<${PatientView} session=${session} id=${chosen} onBack=${() => setChosen(undefined)} />`;
  const submit = (event) => {
    event.preventDefault();
    const text = String(new FormData(event.target).get('q')).trim();
    if (text) setQuery(text);
  };
  return html`
    <form class="filters" onSubmit=${submit} role="search" aria-label="Find a patient">
      <${Field} label="NHS number or name" id="patient-q" name="q" required defaultValue=${query ?? ''} />
      <button type="submit">Find</button>
    </form>
    ${query &&
    html`<${Loaded} state=${results} what="patients">
      ${(bundle) => html`<${Table}
        caption=${`Patients matching “${query}”`}
        rows=${matches(bundle, 'Patient')}
        rowKey=${(p) => p.id}
        empty=${`No patient matches “${query}”.`}
        columns=${[
          { label: 'Name', cell: (p) => humanName(p.name) },
          { label: 'NHS number', cell: (p) => nhsNumber(p) },
          { label: 'Born', cell: (p) => p.birthDate ?? '—' },
          { label: 'Gender', cell: (p) => p.gender ?? '—' },
          { label: '', cell: (p) => html`<button type="button" aria-label=${`Open the record of ${humanName(p.name)}`} onClick=${() => setChosen(p.id)}>Open</button>` },
        ]}
      />`}
    <//>`}`;
}
