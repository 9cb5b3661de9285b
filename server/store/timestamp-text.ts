/**
 * Epoch milliseconds or a Date as PostgreSQL timestamptz text; the open ends of periods are
 * +-infinity. Past year 9999 (the end of a 9999 date's range) JavaScript's ISO text is
 * `+010000-…`, which PostgreSQL does not read: the sign and the padding go.
 */
export function timestampText(time: number | Date): string {
  if (time === Infinity) return 'infinity';
  if (time === -Infinity) return '-infinity';
  return new Date(time).toISOString().replace(/^\+0*/, '');
}
