import type { Bundle, BundleLink, OperationOutcomeIssue, Resource, SearchParameter } from '@medplum/fhirtypes';
import { badRequest } from '../errors.js';
import type { Queryable } from '../store/db.js';
import type { Alongside, ExtractedIndexRows } from '../store/store.js';
import { searchsetBundle } from './bundle.js';
import type { Controls } from './controls.js';
import { CURSOR_PARAM, applyControl, encodeCursor, isControl, isSupported } from './controls.js';
import { extractRows } from './extract.js';
import { CustomParameters } from './custom-parameters.js';
import { findIncludes } from './include.js';
import { deleteRows, writeRows, type ResourceRows } from './index-writer.js';
import { InMemoryMatcher } from './matcher.js';
import type { Filter } from './parse.js';
import { ParamError, pairRanges, parseFilter, reportOrThrow } from './parse.js';
import type { Row } from './query.js';
import { SearchQuery } from './query.js';
import { SearchRegistry } from './registry.js';
import type { RowFilter } from './row-filter.js';
import { filterSql } from './conditions.js';
import type { SqlWriter } from './sql-writer.js';
import type { Compartment, SearchContext, SearchEngine } from './search.js';
import { ValueSetExpander } from './valuesets.js';

/** Each criterion is a subquery PostgreSQL plans together with the others: hundreds of them took minutes, with every other request waiting on the embedded database. */
const MAX_SEARCH_PARAMETERS = 64;

export interface SearchEngineOptions {
  /** Page size when the request has no _count. */
  defaultCount: number;
  /** Largest page served; a larger _count is reduced to it. */
  maxCount: number;
}

/**
 * Creates the search engine. Synchronous: it loads the R4 definitions (about a second) before it
 * returns, so build it once at start. SearchParameter resources stored earlier are loaded from the
 * database on the first call that has a connection.
 */
export function createSearchEngine(options: SearchEngineOptions): SearchEngine {
  return new SqlSearchEngine(options);
}

class SqlSearchEngine implements SearchEngine {
  readonly registry = new SearchRegistry();
  private readonly expander = new ValueSetExpander();
  private readonly matcher = new InMemoryMatcher(this.registry);
  private readonly custom = new CustomParameters(this.registry);

  constructor(private readonly options: SearchEngineOptions) {}

  async index(tx: Queryable, resource: Resource, alongside?: Alongside): Promise<void> {
    await this.custom.sync(tx, false);
    if (resource.resourceType === 'SearchParameter') await this.custom.put(tx, resource as SearchParameter & { id: string });
    await this.indexRows(tx, resource, alongside);
  }

  async indexRows(tx: Queryable, resource: Resource, alongside?: Alongside): Promise<void> {
    await writeRows(tx, [{ resourceType: resource.resourceType, id: resource.id!, rows: extractRows(this.registry, resource) }], resource.meta?.versionId === '1', alongside);
  }

  async firstVersionRows(tx: Queryable, resource: Resource): Promise<ResourceRows> {
    await this.custom.sync(tx, false);
    if (resource.resourceType === 'SearchParameter') await this.custom.put(tx, resource as SearchParameter & { id: string });
    return { resourceType: resource.resourceType, id: resource.id!, rows: extractRows(this.registry, resource) };
  }

  async writeFirstVersionRows(tx: Queryable, rows: ExtractedIndexRows[], alongside?: Alongside): Promise<void> {
    await writeRows(tx, rows as ResourceRows[], true, alongside); // what firstVersionRows returned
  }

  async remove(tx: Queryable, resourceType: string, id: string, alongside?: Alongside): Promise<void> {
    await this.custom.sync(tx, false);
    if (resourceType === 'SearchParameter') await this.custom.delete(tx, id);
    await deleteRows(tx, resourceType, id, alongside);
  }

  parametersOf(resourceType: string): Array<{ name: string; type: string; definition?: string }> {
    return this.registry
      .params(resourceType)
      .filter((d) => isSupported(d.code))
      .map((d) => ({ name: d.code, type: d.type, ...(d.url ? { definition: d.url } : {}) }))
      .sort((a, b) => a.name.localeCompare(b.name));
  }

  referenceTargets(resource: Resource, params: string[]): Array<{ resourceType: string; id: string }> {
    if (!params.length) return [];
    const rows = extractRows(this.registry, resource, new Set(params)).reference;
    return rows.flatMap((r) => (r.targetType && r.targetId ? [{ resourceType: r.targetType, id: r.targetId }] : []));
  }

  matches(resource: Resource, criteria: URLSearchParams): boolean {
    return this.matcher.matches(resource, criteria);
  }

  async matchIds(sql: Queryable, resourceType: string, criteria: URLSearchParams, limit: number, access?: RowFilter): Promise<string[]> {
    await this.custom.sync(sql);
    if (!this.registry.isResourceType(resourceType)) throw badRequest(`Unknown resource type '${resourceType}'`, resourceType);
    const filters: Filter[] = [];
    for (const [name, value] of criteria) {
      if (isControl(name)) continue; // result parameters do not change which resources match
      try {
        filters.push(parseFilter(this.registry, resourceType, name, value));
      } catch (err) {
        reportOrThrow(err, true, []);
      }
    }
    const valueSets = await this.expander.expandAll(sql, filters);
    return new SearchQuery(this.registry, { branches: [{ type: resourceType, filters: pairRanges(filters) }], ...(access ? { access } : {}) }, valueSets, '').ids(sql, limit);
  }

  async criteriaSql(sql: Queryable, w: SqlWriter, r: string, resourceType: string, criteria: URLSearchParams, access?: RowFilter): Promise<string> {
    await this.custom.sync(sql);
    const filters: Filter[] = [];
    for (const [name, value] of criteria) {
      try {
        filters.push(parseFilter(this.registry, resourceType, name, value));
      } catch (err) {
        reportOrThrow(err, true, []);
      }
    }
    for (const [url, codes] of await this.expander.expandAll(sql, filters)) w.valueSets.set(url, codes);
    if (access) w.access = (aw, alias, type) => access.condition(aw, alias, type, 'r');
    return pairRanges(filters).map((f) => filterSql(w, f, r, resourceType)).join(' AND ') || 'true';
  }

  async search(ctx: SearchContext, resourceType: string | undefined, params: URLSearchParams, compartment?: Compartment): Promise<Bundle> {
    const given = [...params.keys()].length;
    if (given > MAX_SEARCH_PARAMETERS) throw badRequest(`A search takes at most ${MAX_SEARCH_PARAMETERS} parameters; this one has ${given}. Join values of one parameter with commas, or split the search.`);
    await this.custom.sync(ctx.sql);
    const issues: OperationOutcomeIssue[] = [];
    const access = ctx.access;
    // A system or compartment search covers only the types this client may search.
    const types = (await this.searchedTypes(ctx, resourceType, params, compartment, issues)).filter((t) => !access || resourceType || access.grants(t, 's'));
    if (!types.length) {
      return searchsetBundle({ matches: [], included: [], issues, total: 0, links: [{ relation: 'self', url: ctx.baseUrl }], baseUrl: ctx.baseUrl, controls: { count: 0, sort: [], include: [], revinclude: [] } });
    }
    const controls: Controls = { count: Math.min(this.options.defaultCount, this.options.maxCount), sort: [], include: [], revinclude: [] };
    const filters = new Map<string, Filter[]>(types.map((t) => [t, []]));
    const accepted: [string, string][] = [];
    // Result parameters first: _cursor must be read against the final _sort.
    const ordered = [...params].sort(([a], [b]) => Number(a === CURSOR_PARAM) - Number(b === CURSOR_PARAM));
    for (const [name, value] of ordered) {
      try {
        if (isControl(name)) {
          applyControl(this.registry, controls, types, name, value, this.options.maxCount);
        } else {
          // Parse for every type before keeping any, so a parameter unknown to one type is dropped for all.
          const parsed = types.map((t) => [t, parseFilter(this.registry, t, name, value)] as const);
          for (const [t, f] of parsed) filters.get(t)!.push(f);
        }
        if (name !== CURSOR_PARAM) accepted.push([name, value]);
      } catch (err) {
        reportOrThrow(err, ctx.strict, issues);
      }
    }

    const branches = types.map((type) => ({ type, filters: pairRanges(filters.get(type)!) }));
    const valueSets = await this.expander.expandAll(ctx.sql, [...filters.values()].flat());
    const query = new SearchQuery(this.registry, { branches, ...(compartment ? { compartment } : {}), ...(ctx.access ? { access: ctx.access } : {}) }, valueSets, ctx.baseUrl);
    const countOnly = controls.summary === 'count';
    const page = countOnly ? { rows: [] as Row[], more: false } : await query.page(ctx.sql, controls);
    const total = await this.total(ctx.sql, query, controls, page, countOnly);
    const included = await findIncludes(ctx.sql, page.rows, controls.include, controls.revinclude, ctx.access);

    const path = compartment ? `${compartment.resourceType}/${compartment.id}/${resourceType ?? '*'}` : (resourceType ?? '');
    const link = (rel: string, cursor?: string): BundleLink => {
      const qs = new URLSearchParams(accepted);
      if (cursor) qs.set(CURSOR_PARAM, cursor);
      return { relation: rel, url: `${ctx.baseUrl}${path ? '/' + path : ''}?${qs}` };
    };
    const cursorAt = (row: Row, dir: 'next' | 'prev'): string =>
      encodeCursor({ dir, type: row.resource_type, id: row.id, keys: controls.sort.map((_, i) => jsonKey(row[`k${i}`])) });
    const links = [link('self', params.get(CURSOR_PARAM) && controls.cursor ? params.get(CURSOR_PARAM)! : undefined), link('first')];
    const backwards = controls.cursor?.dir === 'prev';
    const rows = page.rows;
    if (rows.length && (backwards || page.more)) links.push(link('next', cursorAt(rows[rows.length - 1], 'next')));
    if (rows.length && controls.cursor && (!backwards || page.more)) links.push(link('previous', cursorAt(rows[0], 'prev')));

    return searchsetBundle({ matches: rows, included, issues, ...(total !== undefined ? { total } : {}), links, baseUrl: ctx.baseUrl, controls });
  }

  /** _total: accurate by default; a first page that holds everything is its own count. */
  private async total(sql: Queryable, query: SearchQuery, controls: Controls, page: { rows: Row[]; more: boolean }, countOnly: boolean): Promise<number | undefined> {
    const mode = controls.total ?? 'accurate';
    if (mode === 'none' && !countOnly) return undefined;
    // A first page that holds everything is its own count, for an estimate too.
    if (!countOnly && !controls.cursor && !page.more) return page.rows.length;
    if (mode !== 'estimate') return query.total(sql, 'accurate');
    // The planner's guess, but never below what this page has already shown to exist.
    const seen = controls.cursor ? 0 : page.rows.length + Number(page.more);
    return Math.max(await query.total(sql, 'estimate'), seen);
  }

  /** The resource types one search covers: the type, _type (within the compartment's), or every type holding data (in the compartment). */
  private async searchedTypes(ctx: SearchContext, resourceType: string | undefined, params: URLSearchParams, compartment: Compartment | undefined, issues: OperationOutcomeIssue[]): Promise<string[]> {
    if (resourceType && !this.registry.isResourceType(resourceType)) throw badRequest(`Unknown resource type '${resourceType}'`, resourceType);
    const inCompartment = compartment && this.compartmentTypes(compartment);
    if (inCompartment && resourceType && !inCompartment.includes(resourceType)) throw badRequest(`${resourceType} is not in the Patient compartment`, resourceType);
    if (resourceType) return [resourceType];
    const typeParam = params.getAll('_type').flatMap((v) => v.split(',')).map((t) => t.trim()).filter(Boolean);
    const known = [...new Set(typeParam)].filter((t) => {
      const problem = !this.registry.isResourceType(t) ? `Unknown resource type '${t}'` : inCompartment && !inCompartment.includes(t) ? `${t} is not in the Patient compartment` : undefined;
      if (problem) reportOrThrow(new ParamError('_type', problem), ctx.strict, issues);
      return !problem;
    });
    if (known.length) return known;
    // _type named only types it cannot have: the client asked for those, not for everything.
    if (typeParam.length) return [];
    // Not the audit trail unless named (Patient/x/AuditEvent): $everything and $merge walk the record, not the accesses to it.
    if (inCompartment) return inCompartment.filter((t) => t !== 'AuditEvent');
    // Every type with data: a loose index scan over the primary key, not a scan of the table.
    const rows = await ctx.sql.query<{ t: string }>(
      `WITH RECURSIVE t AS (SELECT min(resource_type) AS t FROM resources UNION ALL SELECT (SELECT min(resource_type) FROM resources WHERE resource_type > t.t) FROM t WHERE t.t IS NOT NULL) SELECT t FROM t WHERE t IS NOT NULL`,
    );
    // The audit trail grows with every request, this one included: it is searched by naming it (_type or /AuditEvent).
    return rows.map((r) => r.t).filter((t) => this.registry.isResourceType(t) && t !== 'AuditEvent');
  }

  /** The types a compartment holds; only the Patient compartment is supported. */
  private compartmentTypes(compartment: Compartment): string[] {
    if (compartment.resourceType !== 'Patient') throw badRequest(`Only the Patient compartment is supported, not ${compartment.resourceType}`, compartment.resourceType);
    return [...this.registry.patientCompartment.keys()];
  }
}

/** Sort key values as they go into a cursor: timestamps as ISO text, everything else as is. */
function jsonKey(value: unknown): unknown {
  return value instanceof Date ? value.toISOString() : (value ?? null);
}
