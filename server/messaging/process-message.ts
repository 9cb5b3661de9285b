import { createHash } from 'node:crypto';
import type { Bundle, BundleEntry, MedicationRequest, MessageHeader } from '@medplum/fhirtypes';
import { badRequest, issue, notSupported, outcome } from '../errors.js';
import { checkShape, validateResource } from '../../profiles/validator.js';
import { runTransaction } from '../rest/bundle/transaction.js';
import type { FhirContext, FhirResponse, Route } from '../rest/request.js';
import { referralTaskEntry } from './bars-referral.js';
import { type Addressed, addressConsultationSummary, HUB_EVENT } from './consultation-summary.js';
import { checkPrescriptionMessage, MESSAGE_EVENT, ODS } from './eps-rules.js';
import { messageAsTransaction, pointedAtMessage, transactionOrder } from './message-transaction.js';

const BARS_EVENT = 'https://fhir.nhs.uk/CodeSystem/message-events-bars';
const MESSAGE_ID = 'https://tools.ietf.org/html/rfc4122';
/** Tags the kept message with a digest of its content, so a repeat is told from another message reusing its id. */
const MESSAGE_DIGEST = 'https://fhir.neighbourhood-hub.example/CodeSystem/message-digest';
// Any constant: serialises two deliveries of the same message id (hashed into the lock key).
const MESSAGE_LOCK_SPACE = 7_041;

type EventKind = 'prescription-order' | 'prescription-order-update' | 'booking-request' | 'servicerequest-request' | 'consultation-summary';

function eventOf(header: MessageHeader): EventKind {
  const { system, code } = header.eventCoding ?? {};
  if (system === MESSAGE_EVENT && (code === 'prescription-order' || code === 'prescription-order-update')) return code;
  if (system === BARS_EVENT && (code === 'booking-request' || code === 'servicerequest-request')) return code;
  if (system === HUB_EVENT && code === 'consultation-summary') return code;
  throw notSupported(422, `Message event ${system}|${code} is not one this hub processes (EPS prescription-order, prescription-order-update; BaRS booking-request, servicerequest-request; ${HUB_EVENT}|consultation-summary)`);
}

/**
 * $process-message for EPS prescription messages, BaRS booking requests and referrals, and the hub's
 * community pharmacy consultation summaries
 * (https://hl7.org/fhir/R4/messageheader-operation-process-message.html): checked, stored in one
 * transaction, idempotent on the message id, and routed through the change log: the addressed
 * pharmacy's subscriptions on the prescription topic fire because the MedicationRequests carry its ODS code.
 */
export async function processMessage(message: Bundle, ctx: FhirContext, route: Route, requestId?: string): Promise<FhirResponse> {
  if (message?.resourceType !== 'Bundle' || message.type !== 'message') throw badRequest('$process-message takes a Bundle of type message', 'Bundle.type');
  // Every entry of a message carries a resource; the rules below read entries and the header as FHIR shapes them.
  const entries: unknown = message.entry;
  if (!Array.isArray(entries)) throw badRequest('A message Bundle has entries: its MessageHeader first', 'Bundle.entry');
  const empty = entries.findIndex((e: BundleEntry | null) => typeof e?.resource !== 'object' || e.resource === null);
  if (empty >= 0) throw badRequest(`Bundle.entry[${empty}] carries no resource`, `Bundle.entry[${empty}].resource`);
  const header = message.entry?.[0]?.resource as MessageHeader | undefined;
  if (header?.resourceType !== 'MessageHeader') throw badRequest('The first entry of a message Bundle must be its MessageHeader', 'Bundle.entry[0].resource');
  // Every element of the message of the JSON type FHIR gives it, before the rules read them: the
  // entries are validated whole when written, after the rules have said what EPS would say of them.
  checkShape(message);
  validateResource(header);
  const event = eventOf(header);
  const prescription = event === 'prescription-order' || event === 'prescription-order-update';
  const routed = prescription ? checkPrescriptionMessage(message, header, event) : undefined;
  const referralTask = event === 'servicerequest-request' ? referralTaskEntry(message, header) : undefined;
  if (routed) for (const { resource } of routed.medicationRequests) addressTo(resource, routed.pharmacy);

  const messageId = message.identifier?.value ?? requestId;
  const digest = createHash('sha256').update(JSON.stringify(message)).digest('hex');
  return ctx.store.transaction(async (store) => {
    const tctx = { ...ctx, store };
    if (messageId) {
      await store.sql.query('SELECT pg_advisory_xact_lock($1, hashtext($2))', [MESSAGE_LOCK_SPACE, messageId]);
      // A repeat is the same id with the same content; senders (EPS's own examples) reuse an id for different messages.
      const key = new URLSearchParams({ identifier: `${MESSAGE_ID}|${messageId}`, _tag: `${MESSAGE_DIGEST}|${digest}` });
      const seen = await ctx.search.matchIds(store.sql, 'Bundle', key, 1);
      if (seen.length) return answer(`Message ${messageId} was already processed (Bundle/${seen[0]}); nothing was changed`);
      // A sender whose policy cannot read the kept Bundle (a GP practice) is still told it is a repeat, without its id.
      if (await ctx.hiddenMatch?.(store.sql, 'Bundle', key)) return answer(`Message ${messageId} was already processed; nothing was changed`);
    }
    const addressed = event === 'consultation-summary' ? await addressConsultationSummary(message, header, ctx.hubSearch ?? ctx.search, store.sql, ctx.baseUrl) : undefined;
    const transaction = messageAsTransaction(message);
    if (referralTask) transaction.entry?.push(referralTask);
    // The message itself is kept, keyed on its id, so a repeat is recognised. The sender's profile
    // claims (BaRS, EPS) are dropped: this server does not hold those profiles to check them against.
    const { meta: _sentMeta, id: _sentId, ...kept } = message;
    transaction.entry?.push({
      resource: { ...kept, meta: { tag: [{ system: MESSAGE_DIGEST, code: digest }] }, identifier: { system: MESSAGE_ID, value: messageId ?? crypto.randomUUID() } },
      request: { method: 'POST', url: 'Bundle' },
    });
    const result = await runTransaction(transaction, tctx, route, 'minimal', { keepUnknownLocal: true }).catch((err: unknown) => {
      throw pointedAtMessage(err, transactionOrder(message));
    });
    const written = `(${result.entry?.filter((e) => e.response?.location).length ?? 0} resources written)`;
    if (addressed) return answer(consultationAnswer(addressed, written));
    if (referralTask) {
      const owner = referralTask.resource?.owner;
      return answer(`Referral received for ${owner?.reference ?? owner?.identifier?.value}: ServiceRequest and its Task written ${written}`);
    }
    if (!routed) return answer(`Booking request accepted ${written}`);
    const what = `${event === 'prescription-order-update' ? 'Cancellation' : 'Prescription'} ${routed.medicationRequests[0].resource.groupIdentifier?.value}`;
    // EPS accepts a dispenseRequest.performer other than the destination; the sender is told where it went.
    const others = routed.otherPerformers.length ? `; dispenseRequest.performer names ${routed.otherPerformers.join(', ')}, not where it was routed` : '';
    return answer(`${what} accepted and routed to pharmacy ${routed.pharmacy}, the message's destination ${written}${others}`);
  });
}

function consultationAnswer({ patient, practice }: Addressed, written: string): string {
  if (practice) return `Consultation summary stored and addressed to practice ${practice} ${written}`;
  const why = patient ? `${patient} has no registered practice in the hub` : 'the hub holds no record of this patient';
  return `Consultation summary stored ${written}; ${why}, so nobody was addressed`;
}

function answer(said: string): FhirResponse {
  return { status: 200, body: outcome(issue('informational', said, undefined, 'information')) };
}

/** Routing by ODS code: a prescription without a performer is addressed to the message's pharmacy. */
function addressTo(m: MedicationRequest, pharmacy: string): void {
  if (m.dispenseRequest?.performer) return;
  m.dispenseRequest = { ...m.dispenseRequest, performer: { identifier: { system: ODS, value: pharmacy } } };
}

