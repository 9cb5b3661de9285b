import type { SearchEngine } from '../search/search.js';
import type { Queryable } from '../store/db.js';
import type { RequestAccess } from './request-access.js';

/** The search engine as one client sees it: every search, conditional match and criteria SQL carries its access policy. */
export function accessSearch(search: SearchEngine, access: RequestAccess): SearchEngine {
  return new Proxy(search, {
    get(target, prop) {
      if (prop === 'search') return ((ctx, type, params, compartment) => target.search({ ...ctx, access }, type, params, compartment)) satisfies SearchEngine['search'];
      if (prop === 'matchIds') return ((sql, type, criteria, limit) => target.matchIds(sql, type, criteria, limit, access)) satisfies SearchEngine['matchIds'];
      if (prop === 'criteriaSql') return ((sql, w, r, type, criteria) => target.criteriaSql(sql, w, r, type, criteria, access)) satisfies SearchEngine['criteriaSql'];
      const value = Reflect.get(target, prop, target);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
}

/**
 * Whether criteria match resources the client may not see: a conditional write (or a PATCH of an id)
 * then answers 403 rather than duplicating a record or pretending it is not there (README, Security).
 */
export function hiddenMatch(search: SearchEngine, access: RequestAccess): (sql: Queryable, type: string, criteria: URLSearchParams) => Promise<boolean> {
  return async (sql, type, criteria) => !access.unrestricted(type, 's') && (await search.matchIds(sql, type, criteria, 1)).length > 0;
}
