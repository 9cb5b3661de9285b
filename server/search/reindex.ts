import { parseFhirPath } from '@medplum/core';
import type { Resource, SearchParameter } from '@medplum/fhirtypes';
import { unprocessable } from '../errors.js';
import type { Queryable } from '../store/db.js';
import { extractRows } from './extract.js';
import { INDEX_TABLES, writeRows } from './index-writer.js';
import type { SearchRegistry } from './registry.js';

const BATCH = 500;
const SEARCHABLE_TYPES = ['number', 'date', 'string', 'token', 'reference', 'composite', 'quantity', 'uri'];

/** Refuses a SearchParameter the server could not index, naming the element at fault. */
export function validateSearchParameter(registry: SearchRegistry, sp: SearchParameter): void {
  if (!sp.code || !/^[A-Za-z0-9_\-.]+$/.test(sp.code) || sp.code.startsWith('_')) throw unprocessable(`SearchParameter.code '${sp.code}' is not a usable parameter name`, 'SearchParameter.code');
  if (!SEARCHABLE_TYPES.includes(sp.type)) throw unprocessable(`SearchParameter.type '${sp.type}' cannot be indexed`, 'SearchParameter.type');
  if (!sp.expression) throw unprocessable('SearchParameter.expression is required to index the parameter', 'SearchParameter.expression');
  try {
    parseFhirPath(sp.expression);
  } catch (err) {
    throw unprocessable(`SearchParameter.expression is not valid FHIRPath: ${(err as Error).message}`, 'SearchParameter.expression');
  }
  const unknown = (sp.base ?? []).map(String).filter((b) => !registry.isResourceType(b) && b !== 'Resource' && b !== 'DomainResource');
  if (!sp.base?.length || unknown.length) throw unprocessable(`SearchParameter.base has no known resource types: ${unknown.join(', ')}`, 'SearchParameter.base');
}

/**
 * A (validated) SearchParameter resource written to the server becomes searchable: it is registered, then the
 * existing resources of its base types are re-indexed in the writing transaction, so the parameter
 * and its index rows commit together. Progress goes to the log, batch by batch.
 */
export async function reindexForParameter(tx: Queryable, registry: SearchRegistry, sp: SearchParameter): Promise<void> {
  await reindex(tx, registry, registry.register(sp), sp.code);
}

/**
 * A deleted SearchParameter stops being searchable: it is unregistered and its index rows are
 * dropped in the deleting transaction; where it had replaced an official parameter of the same code,
 * that one is restored and its rows rebuilt.
 */
export async function unregisterSearchParameter(tx: Queryable, registry: SearchRegistry, sp: SearchParameter): Promise<void> {
  const bases = registry.unregister(sp);
  const restored = bases.filter((type) => registry.get(type, sp.code));
  const dropped = bases.filter((type) => !registry.get(type, sp.code));
  if (dropped.length) {
    // The parameter's rows and the rows derived from it (code:text, code:identifier, code#0, ...).
    const params = [sp.code, `${sp.code}:text`, `${sp.code}:of-type`, `${sp.code}:identifier`, ...(sp.component ?? []).map((_, i) => `${sp.code}#${i}`)];
    const own = 'resource_type = ANY($1::text[]) AND param = ANY($2::text[])';
    const ctes = INDEX_TABLES.slice(1).map((table, i) => `d${i} AS (DELETE FROM ${table} WHERE ${own})`);
    await tx.query(`WITH ${ctes.join(', ')} DELETE FROM ${INDEX_TABLES[0]} WHERE ${own}`, [dropped, params]);
  }
  await reindex(tx, registry, restored, sp.code);
}

async function reindex(tx: Queryable, registry: SearchRegistry, types: string[], code: string): Promise<void> {
  for (const type of types) {
    const [{ n }] = await tx.query<{ n: number }>('SELECT count(*)::int AS n FROM resources WHERE resource_type = $1 AND NOT deleted', [type]);
    if (!n) continue;
    console.info(`[search] re-indexing ${n} ${type} resources for SearchParameter '${code}'`);
    let after = '';
    let done = 0;
    for (;;) {
      const rows = await tx.query<{ id: string; content: string }>(
        'SELECT id, content FROM resources WHERE resource_type = $1 AND NOT deleted AND id > $2 ORDER BY id LIMIT $3',
        [type, after, BATCH],
      );
      if (!rows.length) break;
      await writeRows(tx, rows.map((row) => ({ resourceType: type, id: row.id, rows: extractRows(registry, JSON.parse(row.content) as Resource) })));
      done += rows.length;
      after = rows[rows.length - 1].id;
      console.info(`[search] re-indexed ${done}/${n} ${type} for '${code}'`);
    }
  }
}
