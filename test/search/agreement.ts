import type { Resource } from '@medplum/fhirtypes';
import type { Harness } from './harness.js';
import { loadNeighbourhood, openHarness } from './harness.js';

/**
 * One semantics, two engines: each test in test/search/types/ runs the same searches in SQL and in
 * the in-memory matcher (subscription criteria) over the neighbourhood fixtures and compares the
 * sets, for the parameter type whose file in server/search/types/ holds both conditions.
 */
export interface Agreement {
  h: Harness;
  /** The stored resources (with meta), by type, as the matcher sees them. */
  byType: Map<string, Resource[]>;
}

export type IndexRow = Record<string, unknown> & { resource_type: string; param: string };
export interface Query {
  type: string;
  q: string;
}

export async function openAgreement(): Promise<Agreement> {
  const h = await openHarness();
  await loadNeighbourhood(h);
  const byType = new Map<string, Resource[]>();
  for (const row of await h.db.query<{ resource_type: string; content: string }>('SELECT resource_type, content FROM resources WHERE NOT deleted')) {
    byType.set(row.resource_type, [...(byType.get(row.resource_type) ?? []), JSON.parse(row.content) as Resource]);
  }
  return { h, byType };
}

/** Deterministic generator (mulberry32), so a failing query is reproducible. */
function random(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * Search strings built from the values actually indexed in `table` (outside composites), a sample
 * of them, and AND-ed pairs on the same resource type (which is where date windows are formed).
 */
export async function generated(a: Agreement, table: string, candidates: (row: IndexRow) => string[], singles = 150, pairs = 75): Promise<Query[]> {
  const all: Query[] = [];
  for (const row of await a.h.db.query<IndexRow>(`SELECT * FROM ${table} WHERE grp IS NULL ORDER BY resource_type, id, param`)) {
    for (const q of candidates(row)) all.push({ type: row.resource_type, q });
  }
  const unique = [...new Map(all.map((s) => [`${s.type}?${s.q}`, s])).values()];
  const next = random(20240601);
  const pick = (list: Query[]): Query => list[Math.floor(next() * list.length)];
  const queries = unique.length <= singles ? [...unique] : Array.from({ length: singles }, () => pick(unique));
  for (let i = 0; i < pairs && unique.length; i++) {
    const first = pick(unique);
    queries.push({ type: first.type, q: `${first.q}&${pick(unique.filter((u) => u.type === first.type)).q}` });
  }
  return queries;
}

/** Runs every query both ways; the searches on which the engines differ, and how many found something. */
export async function compare(a: Agreement, queries: Query[]): Promise<{ disagreements: string[]; nonEmpty: number }> {
  const disagreements: string[] = [];
  let nonEmpty = 0;
  for (const { type, q } of queries) {
    const sql = await a.h.ids(type, `${q}&_count=100`);
    const memory = (a.byType.get(type) ?? []).filter((r) => a.h.engine.matches(r, new URLSearchParams(q))).map((r) => r.id!).sort();
    if (sql.length) nonEmpty++;
    if (JSON.stringify(sql) !== JSON.stringify(memory)) disagreements.push(`${type}?${q}: sql ${sql} memory ${memory}`);
  }
  return { disagreements, nonEmpty };
}

export const enc = encodeURIComponent;
