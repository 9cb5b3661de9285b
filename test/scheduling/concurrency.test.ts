import { expect } from 'chai';
import { DB_KINDS, startTestServer, type FhirReply, type TestServer } from '../support/server.js';
import { appointment, loadAvailability, parameters, slot } from './support.js';

const CLIENTS = 50;

/** Every client books the same slot at once: exactly one booking, the others 409 naming the slot, one claim. */
async function race(servers: TestServer[], tokens: string[], slotId: string): Promise<void> {
  const target = await slot(servers[0], slotId);
  const replies: FhirReply[] = await Promise.all(
    tokens.map((as, i) =>
      servers[i % servers.length].fhir('POST', 'Appointment/$book', {
        as,
        body: parameters({ name: 'appointment-resource', resource: appointment('proposed', i % 2 ? 'sched-ada' : 'sched-ben', [target]) }),
      }),
    ),
  );
  const statuses = replies.map((r) => r.status);
  expect(statuses.filter((s) => s === 200), JSON.stringify(replies.filter((r) => r.status !== 409 && r.status !== 200).map((r) => r.body)).slice(0, 800)).to.have.length(1);
  expect(statuses.filter((s) => s === 409)).to.have.length(CLIENTS - 1);
  for (const r of replies.filter((x) => x.status === 409)) {
    expect(r.body.issue[0].severity).to.equal('fatal');
    expect(r.body.issue[0].diagnostics).to.contain(`Slot/${slotId}`);
  }
  const booked = await servers[0].fhir('GET', `Appointment?slot=Slot/${slotId}&status=booked,pending&_summary=count`);
  expect(booked.body.total).to.equal(1);
  expect((await slot(servers[0], slotId)).status).to.equal('busy');
}

async function clients(server: TestServer): Promise<string[]> {
  const tokens: string[] = [];
  for (let i = 0; i < CLIENTS; i++) tokens.push(await server.clientToken({ kind: 'admin', org: 'HUB', scopes: ['system/*.cruds'] }));
  return tokens;
}

for (const kind of DB_KINDS) {
  describe(`${CLIENTS} concurrent $book calls for one slot [${kind}]`, function () {
    this.timeout(120_000);
    let server: TestServer;
    before(async () => {
      server = await startTestServer(kind);
      await loadAvailability(server);
    });
    after(async () => server?.stop());

    it('give exactly one booking and 49 refusals (409, fatal, naming the slot)', async () => {
      await race([server], await clients(server), 'mh-race');
    });
  });
}

describe(`${CLIENTS} concurrent $book calls for one slot across two API processes [postgres]`, function () {
  this.timeout(120_000);
  let a: TestServer;
  let b: TestServer;
  before(async () => {
    a = await startTestServer('postgres');
    b = await startTestServer('postgres', { databaseUrl: a.running.services.config.databaseUrl });
    // Both stand behind one public address, as behind a load balancer: tokens of one are good at the other.
    b.running.services.config.baseUrl = a.base;
    await loadAvailability(a);
  });
  after(async () => {
    await b?.stop();
    await a?.stop();
  });

  it('give exactly one booking between them', async () => {
    await race([a, b], await clients(a), 'mh-race');
  });
});
