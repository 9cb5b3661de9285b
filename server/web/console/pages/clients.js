// Clients: the registry (GET /oauth2/clients), registration (secret shown once) and revocation.
import { useState } from 'preact/hooks';
import { html } from '../html.js';
import { Loaded, Problem, Table, useLoad, when } from '../ui.js';

const KINDS = [
  ['gp-practice', 'GP practice'],
  ['care-provider', 'Care provider'],
  ['pharmacy', 'Community pharmacy'],
  ['voluntary', 'Voluntary organisation'],
  ['admin', 'Administrator'],
];
const kindName = (kind) => KINDS.find(([k]) => k === kind)?.[1] ?? kind;

function Register({ session, onRegistered }) {
  const [error, setError] = useState();
  const [created, setCreated] = useState();
  const [how, setHow] = useState('secret');
  const submit = async (event) => {
    event.preventDefault();
    const form = new FormData(event.target);
    setError(undefined);
    let jwks;
    if (how === 'jwks') {
      try {
        jwks = JSON.parse(String(form.get('jwks')));
      } catch {
        setError(new Error('The JWKS is not valid JSON: paste the public key set, {"keys": [...]}.'));
        return;
      }
    }
    try {
      const fields = { org: String(form.get('org')).trim(), kind: form.get('kind'), scopes: String(form.get('scopes')).trim(), ...(jwks ? { jwks } : { secret: true }) };
      setCreated(await session.clients.register(fields));
      event.target.reset();
      onRegistered();
    } catch (err) {
      setError(err);
    }
  };
  return html`<section aria-labelledby="register-h">
    <h2 id="register-h">Register a client</h2>
    <form onSubmit=${submit} class="register">
      <div class="field"><label for="reg-org">Organisation (ODS code)</label><input id="reg-org" name="org" required pattern="[A-Za-z0-9]+" title="Letters and digits, e.g. FA565" /></div>
      <div class="field"><label for="reg-kind">Kind</label><select id="reg-kind" name="kind">${KINDS.map(([k, label]) => html`<option value=${k}>${label}</option>`)}</select></div>
      <div class="field wide"><label for="reg-scopes">Scopes</label><input id="reg-scopes" name="scopes" required placeholder="system/Patient.rs system/CareTeam.rs" /></div>
      <fieldset>
        <legend>Authentication</legend>
        <label><input type="radio" name="how" value="secret" checked=${how === 'secret'} onChange=${() => setHow('secret')} /> A client secret (generated, shown once)</label>
        <label><input type="radio" name="how" value="jwks" checked=${how === 'jwks'} onChange=${() => setHow('jwks')} /> Public keys (JWKS, private_key_jwt)</label>
      </fieldset>
      ${how === 'jwks' && html`<div class="field wide"><label for="reg-jwks">JWKS (public keys only)</label><textarea id="reg-jwks" name="jwks" rows="4" required></textarea></div>`}
      <button type="submit">Register</button>
    </form>
    <${Problem} error=${error} />
    ${created &&
    html`<div class="created" role="status">
      <p>Registered client <code data-testid="new-client-id">${created.client_id}</code> for ${created.org} (${kindName(created.kind)}).</p>
      ${created.client_secret &&
      html`<p><strong>Copy the secret now: it is not shown again.</strong></p>
        <p><label for="new-secret">Client secret</label> <input id="new-secret" readonly value=${created.client_secret} size="50" onFocus=${(e) => e.target.select()} /></p>`}
      <p>Token endpoint: <code>${created.token_endpoint}</code></p>
      <button type="button" onClick=${() => setCreated(undefined)}>Done</button>
    </div>`}
  </section>`;
}

function SigningKey({ session }) {
  const [error, setError] = useState();
  const [kid, setKid] = useState();
  const rotate = async () => {
    if (!confirm('Rotate the hub’s access token signing key? Tokens already issued keep working until they expire.')) return;
    setError(undefined);
    try {
      setKid((await session.rotateSigningKey()).kid);
    } catch (err) {
      setError(err);
    }
  };
  return html`<section aria-labelledby="key-h">
    <h2 id="key-h">The hub’s signing key</h2>
    <p>Access tokens are signed with the hub’s newest key; the old key keeps verifying the tokens it signed until they expire, so rotating needs no downtime.</p>
    <button type="button" onClick=${rotate}>Rotate the signing key</button>
    <${Problem} error=${error} />
    ${kid && html`<p class="ok" role="status">New signing key <code data-testid="new-kid">${kid}</code>: new tokens are signed with it.</p>`}
  </section>`;
}

export function Clients({ session }) {
  const [version, setVersion] = useState(0);
  const [error, setError] = useState();
  const [showRevoked, setShowRevoked] = useState(false);
  const list = useLoad(() => session.clients.list(), [session, version]);
  const revoke = async (client) => {
    if (!confirm(`Revoke client ${client.id} (${client.org})? Its tokens stop working within seconds.`)) return;
    setError(undefined);
    try {
      await session.clients.revoke(client.id);
      setVersion((v) => v + 1);
    } catch (err) {
      setError(err);
    }
  };
  return html`
    <section aria-labelledby="clients-h">
      <h2 id="clients-h">Registered clients</h2>
      <label class="inline"><input type="checkbox" checked=${showRevoked} onChange=${(e) => setShowRevoked(e.target.checked)} /> Show revoked clients</label>
      <${Problem} error=${error} />
      <${Loaded} state=${list} what="the clients">
        ${(clients) => html`<${Table}
          caption="Clients, oldest first"
          rowKey=${(c) => c.id}
          rows=${clients.filter((c) => showRevoked || !c.revoked)}
          empty="No clients are registered (or none active): register one below."
          columns=${[
            { label: 'Client id', cell: (c) => html`<code>${c.id}</code>` },
            { label: 'Organisation', cell: (c) => c.org },
            { label: 'Kind', cell: (c) => kindName(c.kind) },
            { label: 'Scopes', cell: (c) => c.scopes.join(' ') },
            { label: 'Authenticates with', cell: (c) => (c.authentication === 'private_key_jwt' ? 'Signed assertion (JWKS)' : 'Secret') },
            { label: 'Registered', cell: (c) => when(c.created) },
            { label: 'Last token', cell: (c) => (c.lastToken ? when(c.lastToken) : 'never') },
            { label: 'State', cell: (c) => (c.revoked ? 'Revoked' : 'Active') },
            {
              label: 'Actions',
              cell: (c) => (c.revoked || c.id === session.clientId ? '' : html`<button type="button" class="danger" aria-label=${`Revoke client ${c.id} (${c.org})`} onClick=${() => revoke(c)}>Revoke</button>`),
            },
          ]}
        />`}
      <//>
    </section>
    <${Register} session=${session} onRegistered=${() => setVersion((v) => v + 1)} />
    <${SigningKey} session=${session} />`;
}
