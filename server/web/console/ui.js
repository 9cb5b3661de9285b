// Small shared pieces: every page shows loading, empty and error states as sentences.
import { html } from './html.js';
import { useEffect, useState, useCallback } from 'preact/hooks';

/** Runs an async load when its inputs change; gives { data, error, loading, reload }. */
export function useLoad(load, inputs) {
  const [state, setState] = useState({ loading: true });
  const run = useCallback(() => {
    let live = true;
    setState((s) => ({ ...s, loading: true, error: undefined }));
    load().then(
      (data) => live && setState({ data, loading: false }),
      (error) => live && setState({ error, loading: false }),
    );
    return () => {
      live = false;
    };
  }, inputs);
  useEffect(run, [run]);
  return { ...state, reload: run };
}

export function Problem({ error }) {
  if (!error) return null;
  return html`<p class="problem" role="alert">${error.message ?? String(error)}</p>`;
}

export function Loading({ what }) {
  return html`<p class="loading" role="status">Loading ${what}…</p>`;
}

export function Empty({ children }) {
  return html`<p class="empty">${children}</p>`;
}

/** The loaded content, or the sentence for loading / error. */
export function Loaded({ state, what, children }) {
  if (state.error) return html`<${Problem} error=${state.error} />`;
  if (state.loading && state.data === undefined) return html`<${Loading} what=${what} />`;
  return children(state.data);
}

/** A table with a caption (its accessible name) and a sentence when there are no rows. */
export function Table({ caption, columns, rows, empty, rowKey }) {
  if (!rows.length) return html`<${Empty}>${empty}<//>`;
  return html`<table>
    <caption>${caption}</caption>
    <thead><tr>${columns.map((c) => html`<th scope="col">${c.label}</th>`)}</tr></thead>
    <tbody>${rows.map((r, i) => html`<tr key=${rowKey ? rowKey(r) : i}>${columns.map((c) => html`<td>${c.cell(r)}</td>`)}</tr>`)}</tbody>
  </table>`;
}

/** A labelled input. */
export function Field({ label, id, ...input }) {
  return html`<div class="field"><label for=${id}>${label}</label><input id=${id} ...${input} /></div>`;
}

export function when(iso) {
  if (!iso) return '—';
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? iso : d.toLocaleString('en-GB', { dateStyle: 'medium', timeStyle: 'short' });
}
