// Opening times are local (Europe/London): 09:00 is 09:00Z in winter and 08:00Z in summer.
// Intl knows the rules; this turns a local date and time into the instant.

const formatter = new Intl.DateTimeFormat('en-GB', { timeZone: 'Europe/London', hourCycle: 'h23', year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit' });

/** Minutes London is ahead of UTC at this instant (0 or 60). */
function offsetMinutes(at: number): number {
  const parts = Object.fromEntries(formatter.formatToParts(new Date(at)).map((p) => [p.type, p.value]));
  const local = Date.UTC(Number(parts.year), Number(parts.month) - 1, Number(parts.day), Number(parts.hour), Number(parts.minute));
  return Math.round((local - Math.floor(at / 60_000) * 60_000) / 60_000);
}

/** The instant of a London wall-clock time: `date` YYYY-MM-DD, `minutes` since local midnight. */
export function londonInstant(date: string, minutes: number): Date {
  const [y, m, d] = date.split('-').map(Number);
  const wall = Date.UTC(y, m - 1, d) + minutes * 60_000;
  const first = wall - offsetMinutes(wall) * 60_000;
  return new Date(wall - offsetMinutes(first) * 60_000);
}

/** The London calendar date (YYYY-MM-DD) and weekday (mon..sun) of an instant. */
export function londonDay(at: Date): { date: string; weekday: string } {
  const local = new Date(at.getTime() + offsetMinutes(at.getTime()) * 60_000);
  return { date: local.toISOString().slice(0, 10), weekday: ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'][local.getUTCDay()] };
}
