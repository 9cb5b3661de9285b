import { expect } from 'chai';
import type { AuditRecord } from '../../server/audit/record.js';
import { AuditWriter } from '../../server/audit/writer.js';
import { loadConfig } from '../../server/config.js';
import { FhirError } from '../../server/errors.js';
import { auditedRoute, type AuditSink } from '../../server/http/audited-route.js';
import { logger } from '../../server/logger.js';
import type { FhirRequest } from '../../server/rest/request.js';
import { fhirRoutes } from '../../server/rest/routes.js';
import type { Store } from '../../server/store/store.js';
import { openHarness, type Harness } from '../search/harness.js';

const put = (id: string): FhirRequest => ({ method: 'PUT', path: `Patient/${id}`, query: new URLSearchParams(), headers: {}, body: { resourceType: 'Patient', id, name: [{ family: 'Audited' }] } });
const caller = { requestId: 'r1' };

describe('audited route: a write and its AuditEvent commit together', function () {
  this.timeout(60_000);
  let h: Harness;
  let writer: AuditWriter;
  const contextFor = async (store: Store) => ({ store, hub: h.store, search: h.engine, baseUrl: 'http://hub.test/fhir' });
  const { route } = fhirRoutes(loadConfig({}));
  before(async () => {
    h = await openHarness();
    writer = new AuditWriter({ db: h.db, log: logger });
  });
  after(async () => {
    await writer.close();
    await h.db.close();
  });

  it('an update is recorded in its own transaction', async () => {
    const res = await auditedRoute(route, put('aud-1'), caller, h.store, contextFor, writer, logger);
    expect(res.status).to.equal(201);
    const events = await h.db.query<{ id: string }>("SELECT id FROM audit_event WHERE 'Patient/aud-1' = ANY(entities)");
    expect(events).to.have.length(1);
  });

  it('when the AuditEvent cannot be written, the write does not commit: 503, and the refusal is recorded', async () => {
    const recorded: AuditRecord[] = [];
    const failing: AuditSink = { record: async (r) => void recorded.push(r), recordWithin: () => Promise.reject(new Error('audit table full')) };
    const outcome = await auditedRoute(route, put('aud-2'), caller, h.store, contextFor, failing, logger.child({}, { level: 'silent' })).then(
      () => undefined,
      (err: unknown) => err,
    );
    expect(outcome).to.be.instanceOf(FhirError);
    expect((outcome as FhirError).status).to.equal(503);
    expect(await h.store.read('Patient', 'aud-2')).to.equal(undefined);
    expect(recorded.map((r) => r.status)).to.deep.equal([503]);
  });

  it('a read is recorded after it, before the answer', async () => {
    const recorded: AuditRecord[] = [];
    const sink: AuditSink = { record: async (r) => void recorded.push(r), recordWithin: () => Promise.reject(new Error('not for reads')) };
    const res = await auditedRoute(route, { method: 'GET', path: 'Patient/aud-1', query: new URLSearchParams(), headers: {} }, caller, h.store, contextFor, sink, logger);
    expect(res.status).to.equal(200);
    expect(recorded).to.have.length(1);
    expect(recorded[0]).to.include({ interaction: 'read', status: 200 });
  });
});
