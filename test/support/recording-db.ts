import type { Db, Queryable } from '../../server/store/db.js';

/** The database with the text of every statement run through it, in its transactions too, kept in order. */
export function recording(db: Db): { db: Db; statements: string[] } {
  const statements: string[] = [];
  const record = (q: Queryable): Queryable => ({ query: (sql, params, options) => (statements.push(sql), q.query(sql, params, options)) });
  return { db: { ...db, query: record(db).query, transaction: (fn) => db.transaction((tx) => fn(record(tx))) }, statements };
}
