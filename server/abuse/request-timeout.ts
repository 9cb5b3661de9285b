import type { Response } from 'express';
import { issue, outcome } from '../errors.js';
import { send } from '../http/respond.js';

/** How long a client is asked to wait before retrying a request that timed out. */
const RETRY_AFTER_SECONDS = 5;

/**
 * Answers 503 (OperationOutcome `timeout`, Retry-After) when nothing has been sent within `ms`
 * (0 = off). The handler keeps running to its end; its late answer is dropped by send(). Called as
 * a request starts (server/http/app.ts), not mounted as a layer of its own: each layer is a step
 * of the router for every request.
 */
export function armRequestTimeout(res: Response, ms: number): void {
  if (ms <= 0) return;
  const timer = setTimeout(() => {
    if (res.headersSent) return;
    send(res, 503, outcome(issue('timeout', `The request took longer than ${ms} ms and was abandoned; retry later`)), { 'Retry-After': String(RETRY_AFTER_SECONDS) }, false);
  }, ms);
  // 'close' follows 'finish' for every answered request, and comes alone for an abandoned one.
  res.on('close', () => clearTimeout(timer));
}
