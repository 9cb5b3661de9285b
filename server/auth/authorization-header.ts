import type { IncomingMessage } from 'node:http';

/**
 * The request's Authorization header, as the one value HTTP allows (RFC 9110 §11.6.2). Node keeps
 * only the first of several, so a request carrying two would pass on whichever one this server
 * read while a proxy in front may have judged the other. Repeated, the values are joined with a
 * comma: a value no scheme here accepts, refused as any malformed credential is.
 * A scan of the raw header lines by hand: `headersDistinct` builds every header's list, 2 µs a request.
 */
export function authorizationOf(req: IncomingMessage): string | undefined {
  const raw = req.rawHeaders;
  let value: string | undefined;
  for (let i = 0; i < raw.length; i += 2) {
    if (raw[i].length !== 13 || raw[i].toLowerCase() !== 'authorization') continue;
    value = value === undefined ? raw[i + 1] : `${value}, ${raw[i + 1]}`;
  }
  return value;
}
