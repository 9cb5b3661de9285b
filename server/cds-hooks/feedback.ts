import type { Coding } from '@medplum/fhirtypes';
import { badRequest } from '../errors.js';

/** One Feedback entry (https://cds-hooks.hl7.org/2.0/#feedback): what the user did with a card. */
export interface CardFeedback {
  card: string;
  outcome: 'accepted' | 'overridden';
  acceptedSuggestions?: Array<{ id: string }>;
  overrideReason?: { reason?: Coding; userComment?: string };
  outcomeTimestamp: string;
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Checks a feedback body: `{ feedback: [...] }`; a malformed one is a 400 naming the field. */
export function parseFeedback(body: unknown): CardFeedback[] {
  if (!isObject(body) || !Array.isArray(body.feedback) || body.feedback.length === 0) throw badRequest('A feedback request is an object with a non-empty feedback array', 'feedback');
  return body.feedback.map((f: unknown, i: number): CardFeedback => {
    const at = `feedback[${i}]`;
    if (!isObject(f)) throw badRequest('Each feedback entry is an object', at);
    if (typeof f.card !== 'string' || !f.card) throw badRequest('card is required: the card.uuid from the response', `${at}.card`);
    if (f.outcome !== 'accepted' && f.outcome !== 'overridden') throw badRequest("outcome must be 'accepted' or 'overridden'", `${at}.outcome`);
    if (typeof f.outcomeTimestamp !== 'string' || Number.isNaN(Date.parse(f.outcomeTimestamp))) throw badRequest('outcomeTimestamp is required: an ISO timestamp in UTC', `${at}.outcomeTimestamp`);
    const accepted = f.acceptedSuggestions;
    if (f.outcome === 'accepted' && (!Array.isArray(accepted) || accepted.length === 0 || accepted.some((s) => !isObject(s) || typeof s.id !== 'string'))) {
      throw badRequest('acceptedSuggestions is required for an accepted outcome: the ids of the suggestions taken', `${at}.acceptedSuggestions`);
    }
    const reason = f.overrideReason;
    if (reason !== undefined && (!isObject(reason) || (reason.reason !== undefined && !isObject(reason.reason)) || (reason.userComment !== undefined && typeof reason.userComment !== 'string'))) {
      throw badRequest('overrideReason is an object with reason (a Coding) and/or userComment (a string)', `${at}.overrideReason`);
    }
    return f as unknown as CardFeedback;
  });
}

/** What the audit trail says of one feedback entry. */
export function describeFeedback(f: CardFeedback): string {
  if (f.outcome === 'accepted') return `Card ${f.card} accepted (suggestions ${f.acceptedSuggestions?.map((s) => s.id).join(', ')}) at ${f.outcomeTimestamp}`;
  const reason = f.overrideReason?.reason;
  const why = [reason && (reason.display ?? `${reason.system ?? ''}|${reason.code ?? ''}`), f.overrideReason?.userComment && `"${f.overrideReason.userComment}"`].filter(Boolean).join(': ');
  return `Card ${f.card} overridden${why ? ` (${why})` : ' (no reason given)'} at ${f.outcomeTimestamp}`;
}
