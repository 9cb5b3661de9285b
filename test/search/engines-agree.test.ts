import { expect } from 'chai';
import type { Resource } from '@medplum/fhirtypes';
import type { Harness } from './harness.js';
import { loadNeighbourhood, openHarness } from './harness.js';

/** Deterministic generator (mulberry32), so a failing query is reproducible. */
function random(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

type IndexRow = Record<string, unknown> & { resource_type: string; param: string };

/** Search strings built from the values actually indexed, with every modifier and prefix the types allow. */
function candidates(table: string, row: IndexRow): string[] {
  const p = row.param;
  const enc = encodeURIComponent;
  switch (table) {
    case 'search_string': {
      const exact = String(row.value_exact);
      if (p.endsWith(':text')) return [`${p}=${enc(exact.slice(0, 4))}`];
      return [`${p}=${enc(exact.slice(0, 3))}`, `${p}=${enc(exact.toUpperCase())}`, `${p}:exact=${enc(exact)}`, `${p}:exact=${enc(exact.toLowerCase())}`, `${p}:contains=${enc(exact.slice(1, 4))}`, `${p}:missing=true`];
    }
    case 'search_token': {
      if (p.includes(':')) return [];
      const [system, code] = [row.system as string | null, row.code as string | null];
      const out = [`${p}:missing=false`];
      if (code) out.push(`${p}=${enc(code)}`, `${p}=${enc(`|${code}`)}`, `${p}:not=${enc(code)}`, `${p}=${enc(code.toUpperCase())}`);
      if (system && code) out.push(`${p}=${enc(`${system}|${code}`)}`);
      if (system) out.push(`${p}=${enc(`${system}|`)}`);
      return out;
    }
    case 'search_date': {
      const low = row.low as Date;
      if (!Number.isFinite(low.getTime())) return [];
      const day = low.toISOString().slice(0, 10);
      const year = day.slice(0, 4);
      return ['eq', 'ne', 'gt', 'lt', 'ge', 'le', 'sa', 'eb'].flatMap((prefix) => [`${p}=${prefix}${day}`, `${p}=${prefix}${year}`]);
    }
    case 'search_number':
    case 'search_quantity': {
      const low = Number(row.low);
      if (!Number.isFinite(low)) return [];
      const out = ['eq', 'ne', 'gt', 'lt', 'ge', 'le'].map((prefix) => `${p}=${prefix}${low}`);
      if (table === 'search_quantity' && row.code) out.push(`${p}=${low}|${enc(String(row.system ?? ''))}|${enc(String(row.code))}`);
      return out;
    }
    case 'search_reference':
      if (!row.target_id) return [`${p}=${enc(String(row.url))}`];
      return [`${p}=${row.target_type}/${row.target_id}`, `${p}=${row.target_id}`, `${p}:${row.target_type}=${row.target_id}`, `${p}:missing=true`];
    case 'search_uri':
      return [`${p}=${enc(String(row.value))}`, `${p}:below=${enc(String(row.value).slice(0, 20))}`];
    default:
      return [];
  }
}

describe('one semantics, two engines: the in-memory matcher agrees with the SQL search', () => {
  let h: Harness;
  const byType = new Map<string, Resource[]>();
  const queries: { type: string; q: string }[] = [];

  before(async () => {
    h = await openHarness();
    await loadNeighbourhood(h);
    for (const row of await h.db.query<{ resource_type: string; content: string }>('SELECT resource_type, content FROM resources WHERE NOT deleted')) {
      byType.set(row.resource_type, [...(byType.get(row.resource_type) ?? []), JSON.parse(row.content) as Resource]);
    }
    const single: { type: string; q: string }[] = [];
    for (const table of ['search_string', 'search_token', 'search_date', 'search_number', 'search_quantity', 'search_reference', 'search_uri']) {
      for (const row of await h.db.query<IndexRow>(`SELECT * FROM ${table} WHERE grp IS NULL ORDER BY resource_type, id, param`)) {
        for (const q of candidates(table, row)) single.push({ type: row.resource_type, q });
      }
    }
    const unique = [...new Map(single.map((s) => [`${s.type}?${s.q}`, s])).values()];
    const next = random(20240601);
    // a sample of single parameters, and AND-ed pairs on the same type
    for (let i = 0; i < 300; i++) queries.push(unique[Math.floor(next() * unique.length)]);
    for (let i = 0; i < 150; i++) {
      const a = unique[Math.floor(next() * unique.length)];
      const sameType = unique.filter((u) => u.type === a.type);
      queries.push({ type: a.type, q: `${a.q}&${sameType[Math.floor(next() * sameType.length)].q}` });
    }
    queries.push(
      { type: 'Patient', q: 'gender=http://hl7.org/fhir/administrative-gender|male' },
      { type: 'Patient', q: 'gender=http://hl7.org/fhir/administrative-gender|' },
      { type: 'Patient', q: 'gender:not=http://snomed.info/sct|male' },
      { type: 'MedicationRequest', q: 'status=http://hl7.org/fhir/CodeSystem/medicationrequest-status|active,|stopped' },
    );
    queries.push({ type: 'Patient', q: 'family=smith,zoell' }, { type: 'Observation', q: 'component-code-value-quantity=http://loinc.org|8480-6$gt110' });
  });
  after(() => h.db.close());

  it('a few hundred generated searches give the same sets in SQL and in memory', async () => {
    expect(queries.length).to.be.greaterThan(400);
    const disagreements: string[] = [];
    let nonEmpty = 0;
    for (const { type, q } of queries) {
      const sql = await h.ids(type, `${q}&_count=100`);
      const memory = (byType.get(type) ?? []).filter((r) => h.engine.matches(r, new URLSearchParams(q))).map((r) => r.id!).sort();
      if (sql.length) nonEmpty++;
      if (JSON.stringify(sql) !== JSON.stringify(memory)) disagreements.push(`${type}?${q}: sql ${sql} memory ${memory}`);
    }
    expect(disagreements).to.deep.equal([]);
    // the comparison means something only if many searches find something
    expect(nonEmpty).to.be.greaterThan(queries.length / 3);
  });
});
