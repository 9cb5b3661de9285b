import pino from 'pino';

/**
 * Structured JSON logs. At info level nothing identifies a patient: request logs carry method,
 * route shape, status and timing, never query strings or bodies.
 */
// Buffered writes keep logging off the request path; pino flushes the buffer when the process exits.
const destination = pino.destination({ dest: 1, sync: false, minLength: 4096 });

export const logger = pino({ level: process.env.LOG_LEVEL || 'info', base: { pid: process.pid }, timestamp: pino.stdTimeFunctions.isoTime }, destination);

/** Writes what is buffered before returning: the start-up lines an operator must see (or a test reads) once the server answers. */
export function flushLogsNow(): void {
  destination.flushSync();
}
export type Logger = pino.Logger;
