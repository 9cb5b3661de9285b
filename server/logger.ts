import pino from 'pino';

/**
 * Structured JSON logs. At info level nothing identifies a patient: request logs carry method,
 * route shape, status and timing, never query strings or bodies.
 */
export const logger = pino({ level: process.env.LOG_LEVEL || 'info', base: { pid: process.pid }, timestamp: pino.stdTimeFunctions.isoTime });
export type Logger = pino.Logger;
