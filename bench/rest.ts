import { benchPostgres, load, printTable, startChild, type LoadResult } from './support.js';

const patient = (i: number) => ({
  resourceType: 'Patient',
  identifier: [{ system: 'https://fhir.nhs.uk/Id/nhs-number', value: String(9000000000 + i) }],
  name: [{ family: 'Okafor', given: ['Ada'] }],
  gender: 'female',
  birthDate: '1956-03-14',
});

/**
 * Issue 2 benchmark: create, read and update at 16 connections against a local PostgreSQL, with a bare
 * Express handler returning the same JSON measured in the same run so the ratio is visible.
 */
export async function runRestBenchmark(seconds = 10): Promise<void> {
  const pg = await benchPostgres();
  const server = await startChild('server/main.ts', { DATABASE_URL: pg.url }, '/fhir/metadata');
  const bare = await startChild('bench/bare-express.ts', {}, '/fhir/Patient/x');
  const json = { 'content-type': 'application/fhir+json' };
  try {
    const ids: string[] = [];
    for (let i = 0; i < 200; i++) {
      const res = await fetch(`${server.url}/fhir/Patient`, { method: 'POST', headers: json, body: JSON.stringify(patient(i)) });
      ids.push(((await res.json()) as { id: string }).id);
    }
    let n = 0;
    const results: LoadResult[] = [];
    results.push(await load('create (POST Patient)', { url: `${server.url}/fhir/Patient`, duration: seconds, method: 'POST', headers: json, body: JSON.stringify(patient(1)) }));
    results.push(
      await load('read (GET Patient/id)', {
        url: server.url,
        duration: seconds,
        requests: [{ method: 'GET', setupRequest: (r) => ({ ...r, path: `/fhir/Patient/${ids[n++ % ids.length]}` }) }],
      }),
    );
    results.push(
      await load('update (PUT Patient/id)', {
        url: server.url,
        duration: seconds,
        requests: [
          {
            method: 'PUT',
            headers: json,
            setupRequest: (r) => {
              const id = ids[n++ % ids.length];
              return { ...r, path: `/fhir/Patient/${id}`, body: JSON.stringify({ ...patient(n), id }) };
            },
          },
        ],
      }),
    );
    const bareRead = await load('bare Express read', { url: `${bare.url}/fhir/Patient/x`, duration: seconds });
    results.push(bareRead);
    const read = results[1];
    printTable(
      'REST core, 16 connections, local PostgreSQL',
      results.map((r) => ({ scenario: r.name, 'req/s': r.rps, 'p50 ms': r.p50, 'p99 ms': r.p99, 'errors+non2xx': r.errors + r.non2xx })),
    );
    console.log(`\nread / bare Express: ${Math.round((100 * read.rps) / bareRead.rps)}%   API process peak RSS: ${Math.round(server.peakRssMb())} MB`);
  } finally {
    await server.stop();
    await bare.stop();
    pg.stop();
  }
}
