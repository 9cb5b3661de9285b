import type { SearchEngine } from '../search/search.js';
import type { RequestAccess } from './request-access.js';

/** The search engine as one client sees it: every search and conditional match carries its access policy. */
export function accessSearch(search: SearchEngine, access: RequestAccess): SearchEngine {
  return new Proxy(search, {
    get(target, prop) {
      if (prop === 'search') return ((ctx, type, params, compartment) => target.search({ ...ctx, access }, type, params, compartment)) satisfies SearchEngine['search'];
      if (prop === 'matchIds') return ((sql, type, criteria, limit) => target.matchIds(sql, type, criteria, limit, access)) satisfies SearchEngine['matchIds'];
      const value = Reflect.get(target, prop, target);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
}
