import { expect } from 'chai';
import type { Resource } from '@medplum/fhirtypes';
import type { FhirReply, TestServer } from '../support/server.js';

export const ASYNC = { prefer: 'respond-async' };

export interface Manifest {
  transactionTime: string;
  request: string;
  requiresAccessToken: boolean;
  output: Array<{ type: string; url: string; count: number }>;
  error: unknown[];
}

/** Kicks off an export and returns the status URL from Content-Location (asserting the 202). */
export async function kickOff(server: TestServer, path: string): Promise<string> {
  const res = await server.fhir('GET', path, { headers: ASYNC });
  expect(res.status, res.text).to.equal(202);
  const location = res.headers.get('content-location');
  expect(location, 'Content-Location').to.be.a('string');
  return location!;
}

/** Polls the status URL until it stops answering 202; returns the last reply. */
export async function poll(server: TestServer, statusUrl: string, timeoutMs = 30_000): Promise<FhirReply> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const res = await server.fetch(statusUrl);
    const text = await res.text();
    if (res.status !== 202) return { status: res.status, headers: res.headers, body: text ? JSON.parse(text) : undefined, text };
    expect(res.headers.get('x-progress'), 'X-Progress while running').to.be.a('string');
    if (Date.now() > until) throw new Error(`export at ${statusUrl} still running after ${timeoutMs} ms (${res.headers.get('x-progress')})`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Kick-off, poll to completion, and the manifest. */
export async function exportAndWait(server: TestServer, path: string): Promise<{ statusUrl: string; manifest: Manifest }> {
  const statusUrl = await kickOff(server, path);
  const res = await poll(server, statusUrl);
  expect(res.status, res.text).to.equal(200);
  expect(res.headers.get('content-type')).to.match(/^application\/json/);
  return { statusUrl, manifest: res.body as Manifest };
}

/** Every resource of every output file, checking each file is NDJSON of its declared type and count. */
export async function readOutput(server: TestServer, manifest: Manifest): Promise<Resource[]> {
  const all: Resource[] = [];
  for (const file of manifest.output) {
    const res = await server.fetch(file.url);
    expect(res.status, file.url).to.equal(200);
    expect(res.headers.get('content-type')).to.equal('application/fhir+ndjson');
    const text = await res.text();
    expect(text.endsWith('\n'), 'file ends with a newline').to.equal(true);
    const lines = text.split('\n').slice(0, -1);
    expect(lines.length, `lines of ${file.url}`).to.equal(file.count);
    for (const line of lines) {
      const resource = JSON.parse(line) as Resource;
      expect(resource.resourceType).to.equal(file.type);
      all.push(resource);
    }
  }
  return all;
}

/** Resources per type, as a plain object for deep.equal. */
export function countByType(resources: Resource[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const r of resources) counts[r.resourceType] = (counts[r.resourceType] ?? 0) + 1;
  return counts;
}

/** Resources per type as the manifest declares them (a type may span several files). */
export function countByFile(output: Manifest['output']): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const f of output) counts[f.type] = (counts[f.type] ?? 0) + f.count;
  return counts;
}

/** Current (not deleted) resources per type, straight from the database: what a full export must contain. */
export async function storedCounts(server: TestServer, types?: string[]): Promise<Record<string, number>> {
  const rows = await server.running.services.db.query<{ t: string; n: number }>(
    "SELECT resource_type AS t, count(*)::int AS n FROM resources WHERE NOT deleted AND resource_type <> 'AuditEvent' GROUP BY resource_type",
  );
  return Object.fromEntries(rows.filter((r) => !types || types.includes(r.t)).map((r) => [r.t, Number(r.n)]));
}
