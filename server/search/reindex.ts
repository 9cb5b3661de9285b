import { parseFhirPath } from '@medplum/core';
import type { Resource, SearchParameter } from '@medplum/fhirtypes';
import { unprocessable } from '../errors.js';
import type { Queryable } from '../store/db.js';
import { extractRows } from './extract.js';
import { writeRows } from './index-writer.js';
import type { SearchRegistry } from './registry.js';

const BATCH = 500;
const SEARCHABLE_TYPES = ['number', 'date', 'string', 'token', 'reference', 'composite', 'quantity', 'uri'];

/**
 * A SearchParameter resource written to the server becomes searchable: it is registered, then the
 * existing resources of its base types are re-indexed in the writing transaction, so the parameter
 * and its index rows commit together. Progress goes to the log, batch by batch.
 */
export async function registerSearchParameter(tx: Queryable, registry: SearchRegistry, sp: SearchParameter): Promise<void> {
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

  const bases = registry.register(sp);
  for (const type of bases) {
    const [{ n }] = await tx.query<{ n: number }>('SELECT count(*)::int AS n FROM resources WHERE resource_type = $1 AND NOT deleted', [type]);
    if (!n) continue;
    console.info(`[search] re-indexing ${n} ${type} resources for SearchParameter '${sp.code}'`);
    let after = '';
    let done = 0;
    for (;;) {
      const rows = await tx.query<{ id: string; content: string }>(
        'SELECT id, content FROM resources WHERE resource_type = $1 AND NOT deleted AND id > $2 ORDER BY id LIMIT $3',
        [type, after, BATCH],
      );
      if (!rows.length) break;
      for (const row of rows) await writeRows(tx, type, row.id, extractRows(registry, JSON.parse(row.content) as Resource));
      done += rows.length;
      after = rows[rows.length - 1].id;
      console.info(`[search] re-indexed ${done}/${n} ${type} for '${sp.code}'`);
    }
  }
}
