// The operator console: sign-in, then pages reached from the navigation (the hash names the page).
import { render } from 'preact';
import { useEffect, useRef, useState } from 'preact/hooks';
import { html } from './html.js';
import { signIn } from './hub.js';
import { Field, Problem } from './ui.js';
import { Overview } from './pages/overview.js';
import { Clients } from './pages/clients.js';
import { Subscriptions } from './pages/subscriptions.js';
import { Audit } from './pages/audit.js';
import { PatientPage } from './pages/patient.js';

const PAGES = [
  { id: 'overview', title: 'Overview', Page: Overview },
  { id: 'clients', title: 'Clients', Page: Clients },
  { id: 'subscriptions', title: 'Subscriptions', Page: Subscriptions },
  { id: 'audit', title: 'Audit', Page: Audit },
  { id: 'patient', title: 'Patient', Page: PatientPage },
];

function SignIn({ onSession }) {
  const [error, setError] = useState();
  const [busy, setBusy] = useState(false);
  const submit = async (event) => {
    event.preventDefault();
    const form = new FormData(event.target);
    setBusy(true);
    setError(undefined);
    try {
      onSession(await signIn(String(form.get('client-id')).trim(), String(form.get('client-secret'))));
    } catch (err) {
      setError(err);
      setBusy(false);
    }
  };
  return html`<main class="sign-in">
    <h1>Neighbourhood hub console</h1>
    <p>Sign in with an administrator client's id and secret (as in <code>data/admin-client.json</code>). The token stays in this page's memory; closing or reloading the page signs you out.</p>
    <form onSubmit=${submit} aria-describedby="sign-in-problem">
      <${Field} label="Client id" id="client-id" name="client-id" required autocomplete="username" />
      <${Field} label="Client secret" id="client-secret" name="client-secret" type="password" required autocomplete="current-password" />
      <button type="submit" disabled=${busy}>${busy ? 'Signing in…' : 'Sign in'}</button>
    </form>
    <div id="sign-in-problem"><${Problem} error=${error} /></div>
  </main>`;
}

function currentPage() {
  const id = location.hash.replace(/^#\/?/, '').split('?')[0];
  return PAGES.find((p) => p.id === id) ?? PAGES[0];
}

function Console({ session, onSignOut }) {
  const [page, setPage] = useState(currentPage);
  const heading = useRef();
  useEffect(() => {
    const onHash = () => setPage(currentPage());
    addEventListener('hashchange', onHash);
    return () => removeEventListener('hashchange', onHash);
  }, []);
  // Moving to a page moves focus to its heading, so keyboard and screen-reader users start there.
  useEffect(() => heading.current?.focus(), [page]);
  const { Page } = page;
  return html`<div class="console">
    <header>
      <a class="skip" href="#main">Skip to the page</a>
      <span class="brand">Neighbourhood hub</span>
      <nav aria-label="Console pages">
        <ul>${PAGES.map((p) => html`<li><a href=${`#${p.id}`} aria-current=${p === page ? 'page' : undefined}>${p.title}</a></li>`)}</ul>
      </nav>
      <span class="who">Signed in as <code>${session.clientId}</code></span>
      <button type="button" onClick=${onSignOut}>Sign out</button>
    </header>
    <main id="main">
      <h1 tabindex="-1" ref=${heading}>${page.title}</h1>
      <${Page} session=${session} />
    </main>
  </div>`;
}

function App() {
  const [session, setSession] = useState();
  if (!session) return html`<${SignIn} onSession=${setSession} />`;
  // Signing out drops the session object: the token and credentials go with it.
  return html`<${Console} session=${session} onSignOut=${() => setSession(undefined)} />`;
}

const root = document.getElementById('app');
root.textContent = ''; // the "Loading" line shown until the modules arrive
render(html`<${App} />`, root);
