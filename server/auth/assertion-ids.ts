import type { Queryable } from '../store/db.js';

/**
 * Records a client assertion's jti until the assertion expires; false if it was already used.
 * The primary key makes this hold across every process sharing the database.
 */
export async function recordAssertionId(db: Queryable, clientId: string, jti: string, expiresAtSeconds: number): Promise<boolean> {
  const rows = await db.query(
    'INSERT INTO auth_assertion_jti (client_id, jti, expires_at) VALUES ($1, $2, to_timestamp($3)) ON CONFLICT DO NOTHING RETURNING 1',
    [clientId, jti, expiresAtSeconds],
  );
  return rows.length > 0;
}

/**
 * Forgets jti of assertions expired beyond the clock skew the token endpoint allows: those can no
 * longer be replayed anyway.
 */
export async function purgeAssertionIds(db: Queryable, skewSeconds: number): Promise<void> {
  await db.query('DELETE FROM auth_assertion_jti WHERE expires_at < now() - make_interval(secs => $1::float8)', [skewSeconds]);
}
