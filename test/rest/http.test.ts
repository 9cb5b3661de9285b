import { connect } from 'node:net';
import { expect } from 'chai';
import { describeEachDatabase } from '../support/server.js';

describeEachDatabase('HTTP conventions and bad input', (server) => {
  it('GET /metadata is a CapabilityStatement for FHIR 4.0.1 listing the core resource types', async () => {
    const res = await server().fhir('GET', 'metadata');
    expect(res.status).to.equal(200);
    expect(res.body.resourceType).to.equal('CapabilityStatement');
    expect(res.body.fhirVersion).to.equal('4.0.1');
    const types = res.body.rest[0].resource.map((r: { type: string }) => r.type);
    expect(types).to.include.members(['Patient', 'CareTeam', 'MedicationRequest', 'Appointment']);
    expect(types).to.not.include('AccessPolicy');
    const patient = res.body.rest[0].resource.find((r: { type: string }) => r.type === 'Patient');
    const params = patient.searchParam.map((p: { name: string }) => p.name);
    expect(params).to.include.members(['identifier', 'family', 'birthdate', '_id', '_lastUpdated']);
    // R4 defines these on every resource; this server does not search by them, so it does not offer them.
    for (const unoffered of ['_text', '_content', '_query', '_list', '_filter']) expect(params).to.not.include(unoffered);
    const careTeam = res.body.rest[0].resource.find((r: { type: string }) => r.type === 'CareTeam');
    expect(careTeam.searchParam.map((p: { name: string }) => p.name)).to.include('participant-role');
  });

  it('asking for XML (Accept or _format) is 406 with an OperationOutcome', async () => {
    const accept = await server().fhir('GET', 'metadata', { headers: { accept: 'application/fhir+xml' } });
    expect(accept.status).to.equal(406);
    expect(accept.body.resourceType).to.equal('OperationOutcome');
    expect((await server().fhir('GET', 'metadata?_format=xml')).status).to.equal(406);
    expect((await server().fhir('GET', 'metadata?_format=json')).status).to.equal(200);
    expect((await server().fhir('GET', 'metadata', { headers: { accept: 'application/json' } })).status).to.equal(200);
  });

  it('a fhirVersion other than R4 in Accept is 406, in Content-Type 415; 4.0 is served', async () => {
    expect((await server().fhir('GET', 'metadata', { headers: { accept: 'application/fhir+json; fhirVersion=3.0' } })).status).to.equal(406);
    expect((await server().fhir('GET', 'metadata', { headers: { accept: 'application/fhir+json; fhirVersion=4.0' } })).status).to.equal(200);
    expect((await server().fhir('GET', 'metadata', { headers: { accept: 'application/fhir+json; fhirVersion=3.0, application/fhir+json; fhirVersion=4.0' } })).status).to.equal(200);
    const stu3 = await server().fhir('POST', 'Patient', { raw: '{"resourceType":"Patient"}', headers: { 'content-type': 'application/fhir+json; fhirVersion=3.0' } });
    expect(stu3.status).to.equal(415);
    expect((await server().fhir('POST', 'Patient', { raw: '{"resourceType":"Patient"}', headers: { 'content-type': 'application/fhir+json; fhirVersion=4.0' } })).status).to.equal(201);
  });

  it('_pretty=true indents the JSON', async () => {
    const res = await server().fhir('GET', 'metadata?_pretty=true');
    expect(res.text).to.match(/^\{\n {2}"resourceType"/);
  });

  it('malformed JSON is 400 and stores nothing', async () => {
    const before = await server().fhir('GET', 'Patient/_history');
    const res = await server().fhir('POST', 'Patient', { raw: '{"resourceType": "Patient",', headers: { 'content-type': 'application/fhir+json' } });
    expect(res.status).to.equal(400);
    expect(res.body.issue[0].diagnostics).to.match(/JSON/);
    expect((await server().fhir('GET', 'Patient/_history')).body.total).to.equal(before.body.total);
  });

  it('an unsupported media type is 415', async () => {
    const res = await server().fhir('POST', 'Patient', { raw: '<Patient xmlns="http://hl7.org/fhir"/>', headers: { 'content-type': 'application/fhir+xml' } });
    expect(res.status).to.equal(415);
    expect(res.body.resourceType).to.equal('OperationOutcome');
  });

  it('an unknown element is 400 with its FHIRPath expression', async () => {
    const res = await server().fhir('POST', 'Patient', { body: { resourceType: 'Patient', colour: 'blue' } });
    expect(res.status).to.be.oneOf([400, 422]);
    expect(res.body.issue.some((i: { expression?: string[] }) => i.expression?.[0] === 'Patient.colour')).to.equal(true);
  });

  it('a date that does not exist and a dateTime without a zone are rejected with their paths', async () => {
    const badDate = await server().fhir('POST', 'Patient', { body: { resourceType: 'Patient', birthDate: '2023-02-30' } });
    expect(badDate.status).to.be.oneOf([400, 422]);
    expect(badDate.body.issue[0].expression[0]).to.equal('Patient.birthDate');
    const noZone = await server().fhir('POST', 'Appointment', {
      body: { resourceType: 'Appointment', status: 'booked', start: '2026-01-01T10:00:00', end: '2026-01-01T10:30:00Z', participant: [{ status: 'accepted' }] },
    });
    expect(noZone.status).to.be.oneOf([400, 422]);
    expect(noZone.body.issue[0].expression[0]).to.equal('Appointment.start');
  });

  it('Patient.gender "bogus" is rejected (required binding)', async () => {
    const res = await server().fhir('POST', 'Patient', { body: { resourceType: 'Patient', gender: 'bogus' } });
    expect(res.status).to.be.oneOf([400, 422]);
    expect(res.body.issue[0].expression[0]).to.equal('Patient.gender');
  });

  it('an invalid id in the URL is 400', async () => {
    const res = await server().fhir('PUT', 'Patient/not_valid!', { body: { resourceType: 'Patient', id: 'not_valid!' } });
    expect(res.status).to.equal(400);
  });

  it('a NUL or other control character in the path or a parameter, or malformed percent-encoding in the path, is 400, and the audit trail still takes the events of reads beside it', async () => {
    const { id } = (await server().fhir('POST', 'Patient', { body: { resourceType: 'Patient', name: [{ family: 'Beside' }] } })).body;
    const bad = ['Patient/%00', 'Patient/a%01b/_history', 'Patient/%ZZ', 'Patient/%E0%A4%A', 'Patient?family=%00', 'Patient?fam%07ily=x', 'Patient?_id=a%00b'];
    // Sent together, so the good reads' audit events go in the same batches as the refusals'.
    const results = await Promise.all([...bad, `Patient/${id}`, `Patient/${id}`].map((path) => server().fhir('GET', path)));
    for (const [i, path] of bad.entries()) {
      expect(results[i].status, path).to.equal(400);
      expect(results[i].body.resourceType, path).to.equal('OperationOutcome');
      expect(results[i].body.issue[0].diagnostics, path).to.match(/control character|percent-encoding/);
    }
    expect(results.slice(bad.length).map((r) => r.status)).to.deep.equal([200, 200]);
    // An error that quotes a NUL the client sent: its audit event records U+FFFD in its place.
    const json = { 'content-type': 'application/fhir+json' };
    const quoted = await Promise.all([
      server().fhir('POST', 'Patient', { raw: '{"resourceType":"Patient","a\\u0000b":1}', headers: json }),
      server().fhir('GET', `Patient/${id}`),
    ]);
    expect(quoted.map((r) => r.status)).to.deep.equal([400, 200]);
    expect(quoted[0].body.issue[0].expression).to.deep.equal(['Patient.a\u0000b']);
    const form = await server().fhir('POST', 'Patient/_search', { raw: 'family=%00', headers: { 'content-type': 'application/x-www-form-urlencoded' } });
    expect(form.status).to.equal(400);
    const batch = await server().fhir('POST', '', {
      body: { resourceType: 'Bundle', type: 'batch', entry: [{ request: { method: 'GET', url: 'Patient/%ZZ' } }, { request: { method: 'GET', url: `Patient/${id}` } }] },
    });
    expect(batch.body.entry.map((e: { response: { status: string } }) => e.response.status)).to.deep.equal(['400 Bad Request', '200 OK']);
  });

  it('CONNECT is a 405 with Allow and an OperationOutcome, not a connection closed unanswered', async () => {
    const { hostname, port } = new URL(server().base);
    const answer = await new Promise<string>((resolve, reject) => {
      const socket = connect(Number(port), hostname, () => socket.write('CONNECT elsewhere.example:443 HTTP/1.1\r\nHost: elsewhere.example:443\r\n\r\n'));
      let text = '';
      socket.on('data', (d: Buffer) => (text += d.toString()));
      socket.on('end', () => resolve(text));
      socket.on('error', reject);
    });
    const [head, body] = answer.split('\r\n\r\n');
    expect(head.split('\r\n')[0]).to.equal('HTTP/1.1 405 Method Not Allowed');
    expect(head).to.match(/\r\nAllow: GET, HEAD, POST, PUT, PATCH, DELETE\r\n/);
    expect(JSON.parse(body).resourceType).to.equal('OperationOutcome');
  });

  it('malformed bodies, operations, patches and methods are 4xx with an OperationOutcome, and change nothing', async () => {
    const json = { 'content-type': 'application/fhir+json' };
    const { id } = (await server().fhir('POST', 'Patient', { body: { resourceType: 'Patient', name: [{ family: 'Unbroken' }] } })).body;
    const refused = async (status: number, method: string, path: string, options: { raw?: string; headers?: Record<string, string> } = {}): Promise<void> => {
      const res = await server().fhir(method, path, options);
      expect(res.status, `${method} ${path} ${options.raw ?? ''}`).to.equal(status);
      expect(res.body.resourceType, `${method} ${path}`).to.equal('OperationOutcome');
    };
    await refused(405, 'OPTIONS', 'Patient');
    expect((await server().fhir('OPTIONS', `Patient/${id}`)).headers.get('allow')).to.equal('GET, HEAD, POST, PUT, PATCH, DELETE');
    await refused(400, 'POST', 'Patient', { raw: 'xxxx', headers: { ...json, 'content-encoding': 'gzip' } });
    await refused(415, 'POST', 'Patient', { raw: 'xxxx', headers: { ...json, 'content-encoding': 'bogus' } });
    await refused(400, 'GET', '_export/%FF');
    await refused(404, 'GET', '_export/%00');
    await refused(400, 'POST', 'Subscription/$status', { raw: '{"resourceType":"Parameters","parameter":[{"name":"id","valueString":"a\\u0000b"}]}', headers: json });
    const patch = { 'content-type': 'application/json-patch+json' };
    for (const raw of ['[null]', '[{"op":"add","path":1,"value":1}]', '[{"op":"copy","from":1,"path":"/x"}]', '[{"op":"add","path":"x","value":1}]']) await refused(400, 'PATCH', `Patient/${id}`, { raw, headers: patch });
    const fhirPathPatch = (part: unknown): string => JSON.stringify({ resourceType: 'Parameters', parameter: [{ name: 'operation', part }] });
    for (const raw of [fhirPathPatch('x'), fhirPathPatch([null]), fhirPathPatch([{ name: 'type', valueCode: 'add' }, { name: 'path', valueString: '(((' }, { name: 'name', valueString: 'x' }, { name: 'value', valueString: 'x' }]), '{"resourceType":"Parameters","parameter":"x"}']) {
      await refused(400, 'PATCH', `Patient/${id}`, { raw, headers: json });
    }
    expect((await server().fhir('GET', `Patient/${id}`)).body.meta.versionId).to.equal('1');
    await refused(400, 'POST', 'Patient', { raw: '{"resourceType":"Parameters","parameter":"x"}', headers: json });
    await refused(400, 'POST', '', { raw: '{"resourceType":"Bundle","type":"transaction","entry":[null]}', headers: json });
    await refused(400, 'POST', '', { raw: '{"resourceType":"Bundle","type":"transaction","entry":[{"request":{"method":"GET","url":1}}]}', headers: json });
    const batch = await server().fhir('POST', '', { raw: '{"resourceType":"Bundle","type":"batch","entry":[null,{"request":{"method":"GET","url":"Patient","ifNoneMatch":5}}]}', headers: json });
    expect(batch.body.entry.map((e: { response: { status: string } }) => e.response.status)).to.deep.equal(['400 Bad Request', '400 Bad Request']);
    for (const raw of ['null', '{"resourceType":"Parameters","parameter":5}', '{"resourceType":"Parameters","parameter":[null]}']) await refused(400, 'POST', 'ValueSet/$expand', { raw, headers: json });
    await refused(400, 'GET', `Patient?${Array.from({ length: 65 }, (_, i) => `name=x${i}`).join('&')}`);
    // Values only the database can judge, in a tampered paging cursor, are still the request's fault.
    const cursor = (value: unknown[]): string => Buffer.from(JSON.stringify(value)).toString('base64url');
    await refused(400, 'GET', `Patient?_cursor=${cursor(['next', 'Patient', 'a\u0000', []])}`);
    await refused(400, 'GET', `Patient?_sort=birthdate&_cursor=${cursor(['next', 'Patient', 'p1', ['notadate']])}`);
    await refused(400, 'GET', '_history?_since=0000-01-01T00:00:00Z');
    // Date.parse rolls a day the month lacks over into the next month; it is no date.
    await refused(400, 'GET', '_history?_since=2024-02-30T00:00:00Z');
    await refused(400, 'GET', `Patient/${id}/_history?_at=2023-02-29`);
    await refused(400, 'POST', 'Patient', { raw: '{"resourceType":"Patient"}', headers: { ...json, 'if-none-exist': 'name=%00' } });
    await refused(400, 'GET', 'Patient?_has:AuditEvent:patient:date=ge2020', { headers: { prefer: 'handling=strict' } });
    let deep = '{"url":"http://x","valueString":"x"}';
    for (let i = 0; i < 3000; i++) deep = `{"url":"http://x","extension":[${deep}]}`;
    await refused(400, 'POST', 'Patient', { raw: `{"resourceType":"Patient","extension":[${deep}]}`, headers: json });
  });

  it('a date in the year 9999 is stored and found, and history at 9999 answers', async () => {
    const created = await server().fhir('POST', 'Patient', { body: { resourceType: 'Patient', birthDate: '9999-12-31', name: [{ family: 'Far' }] } });
    expect(created.status).to.equal(201);
    for (const query of ['birthdate=9999', 'birthdate=9999-12-31', 'birthdate=ge9999']) {
      const found = await server().fhir('GET', `Patient?${query}&family=Far`);
      expect(found.status, query).to.equal(200);
      expect(found.body.entry.map((e: { resource: { id: string } }) => e.resource.id), query).to.deep.equal([created.body.id]);
    }
    expect((await server().fhir('GET', `Patient/${created.body.id}/_history?_at=9999`)).status).to.equal(200);
  });

  it('every response carries X-Request-ID, echoing the one sent', async () => {
    const res = await server().fhir('GET', 'metadata', { headers: { 'x-request-id': 'abc-123' } });
    expect(res.headers.get('x-request-id')).to.equal('abc-123');
  });
});
