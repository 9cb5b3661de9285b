import type { CodeSystem, ValueSet } from '@medplum/fhirtypes';
import { loadR4Definitions } from '../fhir/r4-definitions.js';
import { expandFetching, type Needed } from '../fhir/valueset-expansion.js';
import type { Queryable } from '../store/db.js';
import type { Filter } from './parse.js';

export type Expansion = { system: string | null; code: string }[];

/**
 * Expands the ValueSets that :in / :not-in name (https://hl7.org/fhir/R4/search.html#token), with
 * the one expander (server/fhir/valueset-expansion.ts) taking what it can: ValueSet and CodeSystem
 * resources held by the server first, then the R4 ones the validator loaded.
 */
export class ValueSetExpander {
  private readonly shipped = new Map<string, ValueSet | CodeSystem | undefined>();

  /** Expansions for every :in / :not-in value found in the filters, keyed by ValueSet URL. */
  async expandAll(sql: Queryable | undefined, filters: Filter[]): Promise<Map<string, Expansion>> {
    const result = new Map<string, Expansion>();
    for (const url of collectUrls(filters)) result.set(url, await this.expand(sql, url));
    return result;
  }

  async expand(sql: Queryable | undefined, url: string): Promise<Expansion> {
    const vs = (await this.find(sql, { type: 'ValueSet', url })) as ValueSet | undefined;
    if (!vs) return [];
    const concepts = await expandFetching(vs, (needed) => this.find(sql, needed), false);
    return concepts ?? [];
  }

  private async find(sql: Queryable | undefined, { type, url }: Needed): Promise<ValueSet | CodeSystem | undefined> {
    if (sql) {
      const rows = await sql.query<{ content: string }>(
        `SELECT r.content FROM search_uri u JOIN resources r ON r.resource_type = u.resource_type AND r.id = u.id AND NOT r.deleted
         WHERE u.resource_type = $1 AND u.param = 'url' AND u.value = $2 LIMIT 1`,
        [type, url],
      );
      if (rows.length) return JSON.parse(rows[0].content) as ValueSet | CodeSystem;
    }
    // The shipped definitions never change, and each is parsed from its file when asked for: keep those asked for.
    const key = `${type}|${url}`;
    if (!this.shipped.has(key)) {
      const r4 = loadR4Definitions();
      this.shipped.set(key, type === 'ValueSet' ? r4.valueSet(url) : r4.codeSystem(url));
    }
    return this.shipped.get(key);
  }
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
