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

/** 0001-01-01T00:00:00Z: PostgreSQL reads no earlier year from ISO text (year 0000 and below are refused). */
const YEAR_ONE = -62_135_596_800_000;

/** Whether a time can be written as timestamptz text at all. */
export function storableTime(ms: number): boolean {
  return ms >= YEAR_ONE;
}
