import { readFileSync } from 'node:fs';
import { expect } from 'chai';
import type { Page } from 'playwright-core';
import { seedNeighbourhood } from '../../server/seed.js';
import { useBrowserPage } from '../support/browser.js';
import { secretToken } from '../../scripts/client-http.js';
import type { TestServer } from '../support/server.js';
import { eventually, startSubscriptionServer } from '../subscriptions/support.js';

const OWNER = 'https://neighbourhood.example.org/fhir/CodeSystem/subscription-owner';

describe('operator console in a real browser', function () {
  this.timeout(120_000);
  let server: TestServer;
  let admin: { client_id: string; client_secret: string };
  const { page, errors } = useBrowserPage();

  before(async () => {
    server = await startSubscriptionServer('pglite', { maxAttempts: 2 });
    await seedNeighbourhood(server.running.services.store);
    admin = JSON.parse(readFileSync(server.running.services.config.auth.adminCredentialsFile, 'utf8'));
  });
  after(() => server?.stop());
  afterEach(() => {
    expect(errors(), 'uncaught errors in the page').to.deep.equal([]);
  });

  async function signIn(p: Page, id = admin.client_id, secret = admin.client_secret): Promise<void> {
    await p.goto(`${server.running.url}/console`);
    await p.getByLabel('Client id').fill(id);
    await p.getByLabel('Client secret').fill(secret);
    await p.getByRole('button', { name: 'Sign in' }).click();
  }

  async function goTo(p: Page, name: string): Promise<void> {
    await p.getByRole('navigation', { name: 'Console pages' }).getByRole('link', { name }).click();
    await p.getByRole('heading', { level: 1, name }).waitFor();
  }

  it('a wrong secret is refused with a sentence, and no page opens', async () => {
    await signIn(page(), admin.client_id, 'not-the-secret');
    expect(await page().getByRole('alert').textContent()).to.equal('The client id or secret is wrong, or the client has been revoked.');
    expect(await page().getByRole('navigation', { name: 'Console pages' }).count()).to.equal(0);
  });

  it('a client that is not an administrator is refused with a sentence', async () => {
    const secret = 'gp-secret-for-the-console-test';
    const gp = await server.running.auth.clients.create({ org: 'B84002', kind: 'gp-practice', scopes: ['system/*.rs'], secret });
    await signIn(page(), gp.id, secret);
    expect(await page().getByRole('alert').textContent()).to.equal('This client is not an administrator. The console is for administrator clients only; sign in with one.');
    expect(await page().getByRole('navigation', { name: 'Console pages' }).count()).to.equal(0);
  });

  it('an administrator signs in with the keyboard and sees readiness, version, uptime and the metrics charts', async () => {
    const p = page();
    await p.goto(`${server.running.url}/console`);
    await p.getByLabel('Client id').focus();
    await p.keyboard.type(admin.client_id);
    await p.keyboard.press('Tab');
    await p.keyboard.type(admin.client_secret);
    await p.keyboard.press('Enter');
    await p.getByRole('heading', { level: 1, name: 'Overview' }).waitFor();
    // Focus moves to the page's heading, where a screen reader starts reading.
    expect(await p.evaluate(() => document.activeElement?.tagName)).to.equal('H1');
    await p.getByText('The hub is ready.').waitFor();
    const capability = (await server.fhir('GET', 'metadata')).body;
    expect(await p.getByTestId('version').textContent()).to.equal(capability.software.version);
    await p.getByTestId('uptime').filter({ hasText: /\d+ (s|min|h|d)/ }).waitFor();
    for (const dependency of ['database', 'migrations', 'redis']) expect(await p.getByRole('row', { name: new RegExp(`^${dependency} ok$`) }).count()).to.equal(1);
    expect(await p.getByRole('img', { name: /over the last hour$/ }).count()).to.equal(6);
    // The second sample (5 s later) gives the first request rate.
    await p.locator('figcaption', { hasText: /^Requests: [\d.]+ per second$/ }).waitFor({ timeout: 20_000 });
  });

  it('registers a client whose secret is shown once and works, then revokes it', async () => {
    const p = page();
    await signIn(p);
    await goTo(p, 'Clients');
    await p.getByLabel('Organisation (ODS code)').fill('FA565');
    await p.getByLabel('Kind').selectOption('pharmacy');
    await p.getByLabel('Scopes').fill('system/MedicationRequest.rs system/Patient.rs');
    await p.getByRole('button', { name: 'Register', exact: true }).click();
    const id = (await p.getByTestId('new-client-id').textContent()) as string;
    const secret = await p.getByRole('textbox', { name: 'Client secret' }).inputValue();
    expect((await secretToken(server.running.url, id, secret)).token).to.be.a('string');
    await p.getByRole('button', { name: 'Done' }).click();
    expect(await p.getByRole('textbox', { name: 'Client secret' }).count(), 'the secret is not shown again').to.equal(0);

    const row = p.getByRole('row').filter({ hasText: id });
    expect(await row.textContent()).to.contain('FA565').and.contain('Community pharmacy').and.contain('Active');
    await p.getByRole('button', { name: `Revoke client ${id} (FA565)` }).click();
    await row.waitFor({ state: 'detached' });
    await p.getByLabel('Show revoked clients').check();
    expect(await p.getByRole('row').filter({ hasText: id }).textContent()).to.contain('Revoked');
    const refused = await fetch(`${server.running.url}/oauth2/token`, {
      method: 'POST',
      headers: { authorization: `Basic ${Buffer.from(`${id}:${secret}`).toString('base64')}`, 'content-type': 'application/x-www-form-urlencoded' },
      body: 'grant_type=client_credentials',
    });
    expect(refused.status).to.equal(401);
  });

  it('rotates the hub’s signing key; the console keeps working with its token', async () => {
    const p = page();
    await signIn(p);
    await goTo(p, 'Clients');
    await p.getByRole('button', { name: 'Rotate the signing key' }).click();
    const kid = (await p.getByTestId('new-kid').textContent()) as string;
    const jwks = (await (await fetch(`${server.running.url}/.well-known/jwks.json`)).json()) as { keys: Array<{ kid: string }> };
    expect(jwks.keys.map((k) => k.kid)).to.include(kid);
    await goTo(p, 'Audit');
    await p.getByRole('table', { name: /^Audit events, newest first/ }).waitFor();
  });

  it('finds a failing subscription, shows its error and attempts, and sets it back to active for its owner', async () => {
    const pharmacy = await server.clientToken({ kind: 'pharmacy', org: 'FA565', scopes: ['system/*.cruds'] });
    const owner = JSON.parse(Buffer.from(pharmacy.split('.')[1], 'base64url').toString('utf8')).sub as string;
    const created = await server.fhir('POST', 'Subscription', {
      as: pharmacy,
      body: { resourceType: 'Subscription', status: 'requested', reason: 'prescriptions', criteria: 'MedicationRequest?status=active', channel: { type: 'rest-hook', endpoint: 'http://127.0.0.1:9/hook', payload: 'application/fhir+json' } },
    });
    const id = created.body.id as string;
    await eventually(() => server.fhir('GET', `Subscription/${id}`), (r) => r.body.status === 'active');
    const rx = JSON.parse(readFileSync('fixtures/neighbourhood/08-medicationrequest-rx-margaret-paracetamol.json', 'utf8'));
    await server.fhir('PUT', `MedicationRequest/${rx.id}`, { body: { ...rx, dispenseRequest: { ...rx.dispenseRequest, performer: { identifier: { system: 'https://fhir.nhs.uk/Id/ods-organization-code', value: 'FA565' } } } } });
    await eventually(() => server.fhir('GET', `Subscription/${id}`), (r) => r.body.status === 'error');

    const p = page();
    await signIn(p);
    await goTo(p, 'Subscriptions');
    await p.getByLabel('Status').selectOption('error');
    const row = p.getByRole('row').filter({ hasText: id });
    const text = (await row.textContent()) as string;
    expect(text).to.contain('FA565 (pharmacy)').and.contain('MedicationRequest?status=active').and.contain('rest-hook → http://127.0.0.1:9/hook').and.contain('failed 2 times');
    await p.getByRole('button', { name: `Delivery attempts of ${id}` }).click();
    expect(await p.getByRole('table', { name: 'Newest first (the last ten)' }).getByRole('row', { name: /Failed/ }).count()).to.be.greaterThan(0);

    await p.getByRole('button', { name: `Set ${id} back to active` }).click();
    await p.getByText(`Subscription ${id} is active again`).waitFor();
    const now = (await server.fhir('GET', `Subscription/${id}`)).body;
    expect(now.status).to.equal('active');
    expect(now.error).to.equal(undefined);
    expect(now.meta.tag.find((t: { system: string }) => t.system === OWNER).code, 'still the pharmacy’s').to.equal(owner);
    await p.getByText('No subscription has status error.').waitFor();
  });

  it('looks a patient up by NHS number and shows the care coordinator, the team and upcoming appointments', async () => {
    const appointment = JSON.parse(readFileSync('fixtures/neighbourhood/09-appointment-appt-margaret-mdt-review.json', 'utf8'));
    const next = new Date(Date.now() + 7 * 86_400_000);
    next.setUTCHours(10, 0, 0, 0);
    const start = next.toISOString();
    await server.fhir('PUT', `Appointment/${appointment.id}`, { body: { ...appointment, start, end: new Date(next.getTime() + 40 * 60_000).toISOString() } });

    const p = page();
    await signIn(p);
    await goTo(p, 'Patient');
    await p.getByLabel('NHS number or name').fill('900 000 0009');
    await p.getByRole('button', { name: 'Find' }).click();
    await p.getByRole('button', { name: 'Open the record of Margaret Jones' }).click();
    expect(await p.getByTestId('patient-name').textContent()).to.equal('Margaret Jones');
    expect(await p.getByTestId('coordinator').textContent()).to.equal('Care coordinator: Jo Walker, Riverside Surgery');
    const team = p.getByRole('table', { name: "Members of the patient's active care teams" });
    expect(await team.getByRole('row').count()).to.equal(6);
    const appointments = p.getByRole('table', { name: 'From today, soonest first, across every organisation' });
    const row = (await appointments.getByRole('row').nth(1).textContent()) as string;
    expect(row).to.contain('General Practice').and.contain('Dr Amara Okafor, Riverside Surgery').and.contain('Priya Shah, High Street Pharmacy').and.contain('booked');
    expect(await p.getByRole('table', { name: 'Active prescriptions from every prescriber' }).textContent()).to.contain('Paracetamol 500mg soluble tablets');

    // The lookup is on the audit trail, found from the patient's page.
    await p.getByRole('link', { name: 'Who has accessed this record' }).click();
    await p.getByRole('heading', { level: 1, name: 'Audit' }).waitFor();
    const events = p.getByRole('table', { name: /^Audit events, newest first/ });
    await events.getByRole('row').filter({ hasText: admin.client_id }).first().waitFor();
    expect(await events.getByRole('row').filter({ hasText: 'Patient/pat-margaret-jones' }).count()).to.be.greaterThan(0);
  });

  it('a name nobody has gives a sentence, not a blank page', async () => {
    const p = page();
    await signIn(p);
    await goTo(p, 'Patient');
    await p.getByLabel('NHS number or name').fill('Nobody-by-this-name');
    await p.getByRole('button', { name: 'Find' }).click();
    await p.getByText('No patient matches “Nobody-by-this-name”.').waitFor();
  });

  it('signing out forgets the token: nothing is stored in the browser and the sign-in form returns', async () => {
    const p = page();
    await signIn(p);
    await p.getByRole('heading', { level: 1, name: 'Overview' }).waitFor();
    expect(await p.evaluate(() => localStorage.length + sessionStorage.length)).to.equal(0);
    expect(await p.evaluate(() => document.cookie)).to.equal('');
    await p.getByRole('button', { name: 'Sign out' }).click();
    await p.getByLabel('Client secret').waitFor();
    expect(await p.getByRole('navigation', { name: 'Console pages' }).count()).to.equal(0);
  });
});
