import type { RequestHandler } from 'express';
import { issue, outcome } from '../errors.js';
import { send } from '../http/respond.js';

/** How long a client is asked to wait before retrying a request that timed out. */
const RETRY_AFTER_SECONDS = 5;

/**
 * Answers 503 (OperationOutcome `timeout`, Retry-After) when nothing has been sent within `ms`
 * (0 = off). The handler keeps running to its end; its late answer is dropped by send().
 */
export function requestTimeout(ms: number): RequestHandler {
  return (_req, res, next) => {
    if (ms <= 0) return next();
    const timer = setTimeout(() => {
      if (res.headersSent) return;
      send(res, 503, outcome(issue('timeout', `The request took longer than ${ms} ms and was abandoned; retry later`)), { 'Retry-After': String(RETRY_AFTER_SECONDS) }, false);
    }, ms);
    const clear = (): void => clearTimeout(timer);
    res.on('finish', clear);
    res.on('close', clear);
    next();
  };
}
