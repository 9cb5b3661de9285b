// Overview: readiness, version, uptime, and the server's own metrics sampled into charts.
import { useEffect, useRef, useState } from 'preact/hooks';
import uPlot from 'uplot';
import { html } from '../html.js';
import { readiness } from '../hub.js';
import { parseMetrics, Samples, summarise } from '../prometheus.js';
import { Loaded, Problem, Table, useLoad } from '../ui.js';

const SAMPLE_MS = 5_000;
// Kept across visits to the page while signed in: the charts cover the last hour the console was open.
const samplesBySession = new WeakMap();

function Chart({ title, data, unit }) {
  const box = useRef();
  const plot = useRef();
  useEffect(() => {
    const width = Math.max(280, Math.min(520, box.current.clientWidth || 420));
    plot.current = new uPlot({ width, height: 160, legend: { show: false }, series: [{}, { label: title, stroke: '#005eb8', width: 2, spanGaps: true }], axes: [{}, { size: 60 }] }, data, box.current);
    return () => plot.current.destroy();
  }, []);
  useEffect(() => plot.current?.setData(data), [data]);
  const last = data[1].filter((v) => v !== null).at(-1);
  return html`<figure class="chart">
    <figcaption>${title}: <strong>${last === undefined ? 'no data yet' : `${round(last)} ${unit}`}</strong></figcaption>
    <div ref=${box} role="img" aria-label=${`${title} over the last hour`}></div>
  </figure>`;
}

function round(v) {
  return v >= 100 ? Math.round(v) : Math.round(v * 100) / 100;
}

function uptime(startedAt) {
  const s = Math.max(0, Math.round(Date.now() / 1000 - startedAt));
  const d = Math.floor(s / 86400);
  const h = Math.floor((s % 86400) / 3600);
  const m = Math.floor((s % 3600) / 60);
  return d ? `${d} d ${h} h` : h ? `${h} h ${m} min` : `${m} min ${s % 60} s`;
}

function Readiness() {
  const state = useLoad(readiness, []);
  return html`<section aria-labelledby="readiness-h">
    <h2 id="readiness-h">Readiness</h2>
    <${Loaded} state=${state} what="readiness">
      ${(r) => html`<p class=${r.status === 'ready' ? 'ok' : 'problem'}>${r.status === 'ready' ? 'The hub is ready.' : 'The hub is not ready.'}</p>
        <${Table} caption="Dependencies" columns=${[
          { label: 'Dependency', cell: ([name]) => name },
          { label: 'State', cell: ([, said]) => html`<span class=${said === 'ok' ? 'ok' : 'problem'}>${said}</span>` },
        ]} rows=${Object.entries(r.checks)} empty="The hub reports no dependencies." />`}
    <//>
    <button type="button" onClick=${state.reload}>Check again</button>
  </section>`;
}

export function Overview({ session }) {
  const capability = useLoad(() => session.fhir('metadata'), [session]);
  if (!samplesBySession.has(session)) samplesBySession.set(session, new Samples());
  const samples = samplesBySession.get(session);
  const [, setTick] = useState(0);
  const [error, setError] = useState();
  useEffect(() => {
    let live = true;
    const sample = () =>
      session.metrics().then(
        (text) => {
          samples.add(Date.now(), summarise(parseMetrics(text)));
          if (live) {
            setError(undefined);
            setTick((t) => t + 1);
          }
        },
        (err) => live && setError(err),
      );
    sample();
    const timer = setInterval(sample, SAMPLE_MS);
    return () => {
      live = false;
      clearInterval(timer);
    };
  }, [session]);
  const latest = samples.latest;
  return html`
    <section aria-labelledby="server-h">
      <h2 id="server-h">Server</h2>
      <${Loaded} state=${capability} what="the capability statement">
        ${(c) => html`<dl class="facts">
          <dt>Software</dt><dd>${c.software?.name}</dd>
          <dt>Version</dt><dd data-testid="version">${c.software?.version}</dd>
          <dt>FHIR</dt><dd>${c.fhirVersion}</dd>
          <dt>Up for</dt><dd data-testid="uptime">${latest?.startedAt ? uptime(latest.startedAt) : '—'}</dd>
          <dt>Memory</dt><dd>${latest ? `${Math.round(latest.memory / 1048576)} MB` : '—'}</dd>
          <dt>Database pool</dt><dd>${latest?.pool?.total !== undefined ? `${latest.pool.total} connections, ${latest.pool.idle ?? 0} idle, ${latest.pool.waiting ?? 0} waiting` : 'not reported (embedded database)'}</dd>
        </dl>`}
      <//>
    </section>
    <${Readiness} />
    <section aria-labelledby="metrics-h">
      <h2 id="metrics-h">Last hour</h2>
      <p class="hint">Sampled from <code>/metrics</code> every ${SAMPLE_MS / 1000} s while this page is open; the first rates show after two samples.</p>
      <${Problem} error=${error && new Error(`The metrics could not be read: ${error.message}`)} />
      <div class="charts">
        <${Chart} title="Requests" unit="per second" data=${samples.rate('requests')} />
        <${Chart} title="Server errors (5xx)" unit="per second" data=${samples.rate('serverErrors')} />
        <${Chart} title="Client errors (4xx)" unit="per second" data=${samples.rate('clientErrors')} />
        <${Chart} title="Outbox lag" unit="changes not yet relayed" data=${samples.level('outboxLag')} />
        <${Chart} title="Queued jobs" unit="jobs waiting" data=${samples.level('queued')} />
        <${Chart} title="Notification latency" unit="ms (mean)" data=${samples.latencyMs()} />
      </div>
      ${latest && html`<p>Failed delivery attempts on record: <strong>${latest.failedDeliveries}</strong>.</p>`}
    </section>`;
}
