// Subscriptions: owner, criteria or topic, channel, status, last delivery, error and event count
// (Subscription search and the Backport $status operation); delivery attempts; reactivation.
import { useState } from 'preact/hooks';
import { html } from '../html.js';
import { Empty, Loaded, Problem, Table, useLoad, when } from '../ui.js';

const OWNER = 'https://neighbourhood.example.org/fhir/CodeSystem/subscription-owner';
const FILTER = 'http://hl7.org/fhir/uv/subscriptions-backport/StructureDefinition/backport-filter-criteria';
const STATUSES = ['', 'error', 'active', 'requested', 'off'];

const param = (status, name) => status.parameter?.find((p) => p.name === name);
const part = (p, name) => p.part?.find((x) => x.name === name);
const ownerOf = (sub) => sub.meta?.tag?.find((t) => t.system === OWNER)?.code;

/** What a subscription listens for: R4 criteria, or a Backport topic with its filters. */
function listensFor(sub) {
  const filters = (sub._criteria?.extension ?? []).filter((e) => e.url === FILTER).map((e) => e.valueString);
  return filters.length ? `${sub.criteria} (${filters.join(', ')})` : sub.criteria;
}

/** The attempts $status lists, newest first. */
function attemptsOf(status) {
  return (status?.parameter ?? [])
    .filter((p) => p.name === 'delivery-attempt')
    .map((p) => ({
      at: part(p, 'attempted-at')?.valueInstant,
      kind: part(p, 'kind')?.valueCode,
      ok: part(p, 'ok')?.valueBoolean,
      httpStatus: part(p, 'http-status')?.valueInteger,
      events: part(p, 'events')?.valueString,
      ms: part(p, 'duration-ms')?.valueInteger,
      error: part(p, 'error')?.valueString,
    }));
}

async function load(session, status) {
  const query = new URLSearchParams({ _count: '100', _sort: '-_lastUpdated' });
  if (status) query.set('status', status);
  const [bundle, statuses, clients] = await Promise.all([session.fhir(`Subscription?${query}`), session.fhir('Subscription/$status'), session.clients.list()]);
  const byId = new Map((statuses.entry ?? []).map((e) => [String(param(e.resource, 'subscription')?.valueReference?.reference ?? '').split('/').pop(), e.resource]));
  const clientsById = new Map(clients.map((c) => [c.id, c]));
  return (bundle.entry ?? [])
    .filter((e) => e.search?.mode !== 'outcome')
    .map((e) => {
      const sub = e.resource;
      const st = byId.get(sub.id);
      return { sub, owner: clientsById.get(ownerOf(sub)), ownerId: ownerOf(sub), events: param(st ?? {}, 'events-since-subscription-start')?.valueString ?? '0', attempts: attemptsOf(st) };
    });
}

function Attempts({ row }) {
  return html`<section aria-labelledby=${`attempts-${row.sub.id}`} class="attempts">
    <h3 id=${`attempts-${row.sub.id}`}>Recent delivery attempts of ${row.sub.id}</h3>
    <${Table}
      caption="Newest first (the last ten)"
      rows=${row.attempts}
      empty="No delivery has been attempted yet."
      columns=${[
        { label: 'When', cell: (a) => when(a.at) },
        { label: 'Kind', cell: (a) => a.kind },
        { label: 'Events', cell: (a) => a.events ?? '—' },
        { label: 'Result', cell: (a) => (a.ok ? 'Delivered' : 'Failed') },
        { label: 'HTTP status', cell: (a) => a.httpStatus ?? '—' },
        { label: 'Took', cell: (a) => `${a.ms} ms` },
        { label: 'Error', cell: (a) => a.error ?? '' },
      ]}
    />
  </section>`;
}

export function Subscriptions({ session }) {
  const [status, setStatus] = useState('');
  const [version, setVersion] = useState(0);
  const [open, setOpen] = useState();
  const [error, setError] = useState();
  const [said, setSaid] = useState();
  const rows = useLoad(() => load(session, status), [session, status, version]);

  const reactivate = async (sub) => {
    setError(undefined);
    setSaid(undefined);
    try {
      // The current version, so an If-Match conflict is reported rather than overwriting a newer change.
      const current = await session.fhir(`Subscription/${sub.id}`);
      const { error: _error, ...rest } = current;
      await session.fhirWrite('PUT', `Subscription/${sub.id}`, { ...rest, status: 'active' });
      setSaid(`Subscription ${sub.id} is active again; deliveries resume from where they stopped.`);
      setVersion((v) => v + 1);
    } catch (err) {
      setError(err);
    }
  };

  return html`
    <div class="filters">
      <label for="sub-status">Status</label>
      <select id="sub-status" value=${status} onChange=${(e) => setStatus(e.target.value)}>
        ${STATUSES.map((s) => html`<option value=${s}>${s || 'any'}</option>`)}
      </select>
      <button type="button" onClick=${() => setVersion((v) => v + 1)}>Refresh</button>
    </div>
    <${Problem} error=${error} />
    ${said && html`<p class="ok" role="status">${said}</p>`}
    <${Loaded} state=${rows} what="the subscriptions">
      ${(list) =>
        !list.length
          ? html`<${Empty}>${status ? `No subscription has status ${status}.` : 'No client has subscribed yet.'}<//>`
          : html`<${Table}
                caption="Subscriptions, most recently changed first"
                rowKey=${(r) => r.sub.id}
                rows=${list}
                empty=""
                columns=${[
                  { label: 'Subscription', cell: (r) => html`<code>${r.sub.id}</code>` },
                  { label: 'Owner', cell: (r) => (r.owner ? `${r.owner.org} (${r.owner.kind})` : r.ownerId ?? 'unknown') },
                  { label: 'Criteria or topic', cell: (r) => html`<code class="wrap">${listensFor(r.sub)}</code>` },
                  { label: 'Channel', cell: (r) => `${r.sub.channel?.type}${r.sub.channel?.endpoint ? ` → ${r.sub.channel.endpoint}` : ''}` },
                  { label: 'Status', cell: (r) => html`<span class=${`status-${r.sub.status}`}>${r.sub.status}</span>` },
                  { label: 'Last delivery', cell: (r) => (r.attempts[0] ? `${when(r.attempts[0].at)} — ${r.attempts[0].ok ? 'delivered' : 'failed'}` : 'none yet') },
                  { label: 'Events', cell: (r) => r.events },
                  { label: 'Error', cell: (r) => r.sub.error ?? '' },
                  {
                    label: 'Actions',
                    cell: (r) => html`<button type="button" aria-expanded=${open === r.sub.id} aria-label=${`Delivery attempts of ${r.sub.id}`} onClick=${() => setOpen(open === r.sub.id ? undefined : r.sub.id)}>Attempts</button>
                      ${r.sub.status === 'error' && html` <button type="button" aria-label=${`Set ${r.sub.id} back to active`} onClick=${() => reactivate(r.sub)}>Set active</button>`}`,
                  },
                ]}
              />
              ${list.filter((r) => r.sub.id === open).map((r) => html`<${Attempts} row=${r} />`)}`}
    <//>`;
}
