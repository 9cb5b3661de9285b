// Audit: who accessed a patient's record and what a client did (AuditEvent search), by date, paged.
import { useState } from 'preact/hooks';
import { html } from '../html.js';
import { Field, Loaded, Problem, Table, useLoad, when } from '../ui.js';

const PAGE_SIZE = 20;
const EXPORT_LIMIT = 5000;
const OUTCOME = { 0: 'Success', 4: 'Refused or invalid', 8: 'Failed', 12: 'Major failure' };

const requestor = (e) => e.agent?.find((a) => a.requestor);
const organisation = (e) => e.agent?.find((a) => a.type?.coding?.some((c) => c.code === 'IRCP'));
const what = (e) => (e.entity ?? []).map((x) => x.what?.reference).filter(Boolean);
const action = (e) => {
  const subtypes = (e.subtype ?? []).map((s) => s.display ?? s.code);
  return subtypes.join(' · ') || e.type?.display || e.type?.code;
};

/** The search the filter form describes. */
function queryOf(filter) {
  const q = new URLSearchParams({ _sort: '-date', _count: String(PAGE_SIZE) });
  if (filter.patient) q.set('patient', filter.patient.includes('/') ? filter.patient : `Patient/${filter.patient}`);
  if (filter.client) q.set('client', filter.client);
  if (filter.from) q.append('date', `ge${filter.from}`);
  if (filter.to) q.append('date', `le${filter.to}`);
  return `AuditEvent?${q}`;
}

/** Every page of the search as NDJSON (up to EXPORT_LIMIT events), offered as a download. */
async function exportNdjson(session, first) {
  const lines = [];
  let url = first.replace(`_count=${PAGE_SIZE}`, '_count=500');
  while (url && lines.length < EXPORT_LIMIT) {
    const bundle = await session.fhir(url);
    for (const e of bundle.entry ?? []) if (e.resource?.resourceType === 'AuditEvent') lines.push(JSON.stringify(e.resource));
    url = bundle.link?.find((l) => l.relation === 'next')?.url;
  }
  return URL.createObjectURL(new Blob([lines.join('\n') + '\n'], { type: 'application/fhir+ndjson' }));
}

export function Audit({ session }) {
  const start = new URLSearchParams(location.hash.split('?')[1] ?? '');
  const [filter, setFilter] = useState({ patient: start.get('patient') ?? '', client: start.get('client') ?? '', from: '', to: '' });
  // The pages visited, so Previous works whatever links the server gives.
  const [pages, setPages] = useState([queryOf(filter)]);
  const [download, setDownload] = useState();
  const [error, setError] = useState();
  const current = pages[pages.length - 1];
  const result = useLoad(() => session.fhir(current), [session, current]);

  const submit = (event) => {
    event.preventDefault();
    const form = new FormData(event.target);
    const next = Object.fromEntries(['patient', 'client', 'from', 'to'].map((k) => [k, String(form.get(k) ?? '').trim()]));
    setFilter(next);
    setPages([queryOf(next)]);
    setDownload(undefined);
  };
  const makeExport = async () => {
    setError(undefined);
    try {
      setDownload(await exportNdjson(session, pages[0]));
    } catch (err) {
      setError(err);
    }
  };

  return html`
    <form class="filters" onSubmit=${submit} aria-label="Audit filters">
      <${Field} label="Patient id" id="audit-patient" name="patient" defaultValue=${filter.patient} placeholder="pat-margaret-jones" />
      <${Field} label="Client id" id="audit-client" name="client" defaultValue=${filter.client} />
      <${Field} label="From" id="audit-from" name="from" type="date" defaultValue=${filter.from} />
      <${Field} label="To" id="audit-to" name="to" type="date" defaultValue=${filter.to} />
      <button type="submit">Search</button>
    </form>
    <${Problem} error=${error} />
    <${Loaded} state=${result} what="the audit trail">
      ${(bundle) => {
        const events = (bundle.entry ?? []).filter((e) => e.resource?.resourceType === 'AuditEvent').map((e) => e.resource);
        const next = bundle.link?.find((l) => l.relation === 'next')?.url;
        return html`
          <${Table}
            caption=${`Audit events, newest first (page ${pages.length})`}
            rowKey=${(e) => e.id}
            rows=${events}
            empty="No audit event matches these filters."
            columns=${[
              { label: 'When', cell: (e) => when(e.recorded) },
              { label: 'Client', cell: (e) => html`<code>${requestor(e)?.who?.display ?? '—'}</code>` },
              { label: 'Organisation', cell: (e) => organisation(e)?.who?.display ?? '—' },
              { label: 'Action', cell: (e) => action(e) },
              { label: 'Resources', cell: (e) => what(e).join(', ') || '—' },
              { label: 'Outcome', cell: (e) => `${OUTCOME[e.outcome] ?? e.outcome}${e.outcomeDesc ? `: ${e.outcomeDesc}` : ''}` },
            ]}
          />
          <nav class="pager" aria-label="Audit pages">
            <button type="button" disabled=${pages.length === 1} onClick=${() => setPages(pages.slice(0, -1))}>Previous page</button>
            <button type="button" disabled=${!next} onClick=${() => setPages([...pages, next])}>Next page</button>
          </nav>`;
      }}
    <//>
    <p>
      <button type="button" onClick=${makeExport}>Prepare an export of every match (NDJSON)</button>
      ${download && html` <a href=${download} download="audit-events.ndjson">Download audit-events.ndjson</a>`}
    </p>`;
}
