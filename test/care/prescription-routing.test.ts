import { expect } from 'chai';
import { sharedExample } from '../support/examples.js';
import type { TestServer } from '../support/server.js';
import { eventNumbers, eventually, startReceiver, startSubscriptionServer, subFixture, type Receiver } from '../subscriptions/support.js';

/** Issue 8: an EPS message through $process-message fires the subscriptions of the pharmacy it is addressed to, and only those. */
describe('$process-message routes prescriptions to the addressed pharmacy', function () {
  this.timeout(120_000);
  let server: TestServer;
  const receivers: Record<string, Receiver> = {};

  before(async () => {
    server = await startSubscriptionServer('postgres');
    for (const ods of ['FA565', 'FH542']) {
      receivers[ods] = await startReceiver();
      const sub = subFixture('backport-prescription-for-pharmacy.json');
      sub._criteria.extension[0].valueString = `MedicationRequest?pharmacy=https://fhir.nhs.uk/Id/ods-organization-code|${ods}`;
      sub.channel.endpoint = receivers[ods].url;
      const created = await server.fhir('POST', 'Subscription', { body: sub });
      expect(created.status, created.text).to.equal(201);
      await eventually(() => server.fhir('GET', `Subscription/${created.body.id}`), (r) => r.body.status === 'active', 30_000);
    }
  });
  after(async () => {
    await server?.stop();
    for (const r of Object.values(receivers)) await r.close();
  });

  it('the four items of an order for FA565 reach FA565 and nobody else', async () => {
    const res = await server.fhir('POST', '$process-message', { body: sharedExample('eps/gp-acute-nominated-pharmacy.json') });
    expect(res.status, res.text).to.equal(200);
    await receivers.FA565.waitFor(() => receivers.FA565.events().flatMap(eventNumbers).length >= 4, 30_000);
    const focus = receivers.FA565.events().flatMap((r) => (r.json.entry ?? []).slice(1).map((e: { resource?: { resourceType: string } }) => e.resource?.resourceType));
    expect(focus.filter((t: string | undefined) => t === 'MedicationRequest')).to.have.length(4);
    await new Promise((r) => setTimeout(r, 500));
    expect(receivers.FH542.events()).to.have.length(0);
  });

  // The two NHS examples share a prescription item number, so this message re-addresses an active item to FH542.
  it("a pharmacist prescriber's order re-addressing an item to FH542 reaches FH542", async () => {
    const res = await server.fhir('POST', '$process-message', { body: sharedExample('eps/pharmacist-prescriber.json') });
    expect(res.status, res.text).to.equal(200);
    await receivers.FH542.waitFor(() => receivers.FH542.events().flatMap(eventNumbers).length >= 1, 30_000);
    expect(receivers.FH542.events().flatMap(eventNumbers)).to.deep.equal([1]);
  });
});
