// The yardsticks for the read benchmark. Without DATABASE_URL: Express returning a fixed Patient, with
// no FHIR work at all. With it: Express reading the Patient's stored JSON from the hub's own table by
// id, one prepared statement on a pg pool as the hub's read makes, and nothing else (no token, access,
// audit or FHIR headers): what one database round trip per read costs on this machine.
import express from 'express';
import pg from 'pg';

const body = JSON.stringify({
  resourceType: 'Patient',
  id: 'bench',
  meta: { versionId: '1', lastUpdated: new Date().toISOString() },
  identifier: [{ system: 'https://fhir.nhs.uk/Id/nhs-number', value: '9000000009' }],
  name: [{ family: 'Okafor', given: ['Ada'] }],
  gender: 'female',
  birthDate: '1956-03-14',
});
const pool = process.env.DATABASE_URL ? new pg.Pool({ connectionString: process.env.DATABASE_URL, max: 20 }) : undefined;
const app = express();
app.get('/fhir/Patient/:id', (req, res) => {
  res.setHeader('Content-Type', 'application/fhir+json; charset=utf-8');
  if (!pool) {
    res.setHeader('ETag', 'W/"1"');
    res.end(body);
    return;
  }
  pool
    .query<{ version_id: number; content: string }>({ name: 'bare-read', text: 'SELECT version_id, content FROM resources WHERE resource_type = $1 AND id = $2', values: ['Patient', req.params.id] })
    .then(({ rows: [row] }) => {
      if (!row) return void res.status(404).end();
      res.setHeader('ETag', `W/"${row.version_id}"`);
      res.end(row.content);
    })
    .catch(() => res.status(500).end());
});
app.listen(Number(process.env.PORT));
