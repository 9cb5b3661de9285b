// The yardstick for the read benchmark: Express returning a fixed Patient, with no FHIR work at all.
import express from 'express';

const body = JSON.stringify({
  resourceType: 'Patient',
  id: 'bench',
  meta: { versionId: '1', lastUpdated: new Date().toISOString() },
  identifier: [{ system: 'https://fhir.nhs.uk/Id/nhs-number', value: '9000000009' }],
  name: [{ family: 'Okafor', given: ['Ada'] }],
  gender: 'female',
  birthDate: '1956-03-14',
});
const app = express();
app.get('/fhir/Patient/:id', (_req, res) => {
  res.setHeader('Content-Type', 'application/fhir+json; charset=utf-8');
  res.setHeader('ETag', 'W/"1"');
  res.end(body);
});
app.listen(Number(process.env.PORT));
