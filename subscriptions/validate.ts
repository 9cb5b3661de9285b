import type { OperationOutcomeIssue, Subscription } from '@medplum/fhirtypes';
import { FhirError, invalid, issue } from '../server/errors.js';
import type { SearchEngine } from '../server/search/search.js';
import type { Queryable } from '../server/store/db.js';
import type { EndpointPolicy } from './endpoint-policy.js';
import { EXT, isTopicBased, parseCriterion, primitiveExtensions, type PayloadContent } from './model.js';
import { findTopic } from './topics.js';

const CONTENTS: PayloadContent[] = ['empty', 'id-only', 'full-resource'];
const CHANNELS = ['rest-hook', 'websocket'];
const PAYLOADS = ['application/fhir+json', 'application/json'];
const CLIENT_STATUSES = ['requested', 'active', 'off', 'error'];

export interface CheckContext {
  search: SearchEngine;
  sql: Queryable;
  policy: EndpointPolicy;
  isResourceType(type: string): boolean;
}

/**
 * Rules a Subscription must meet before it is stored, beyond base R4 validation: a known topic or
 * searchable criteria, known filters, a channel and payload we deliver, an endpoint we may call.
 * Every problem is reported at once, each with its FHIRPath expression (R4 subscription.html,
 * Backport IG backport-subscription profile). Throws 422 with an OperationOutcome.
 */
export async function checkSubscription(sub: Subscription, ctx: CheckContext): Promise<void> {
  const issues: OperationOutcomeIssue[] = [];
  const problem = (diagnostics: string, expression: string, code: OperationOutcomeIssue['code'] = 'processing'): void => {
    issues.push(issue(code, diagnostics, expression));
  };
  if (!CLIENT_STATUSES.includes(sub.status)) problem(`Unknown status '${sub.status}'`, 'Subscription.status', 'value');
  if (isTopicBased(sub)) checkTopic(sub, problem);
  else await checkCriteria(sub, ctx, problem);
  await checkChannel(sub, ctx, problem);
  if (issues.length) throw invalid(422, issues);
}

type Problem = (diagnostics: string, expression: string, code?: OperationOutcomeIssue['code']) => void;

function checkTopic(sub: Subscription, problem: Problem): void {
  const topic = findTopic(sub.criteria ?? '');
  if (!topic) {
    problem(`Unknown subscription topic '${sub.criteria}'; see GET [base]/Basic?code=SubscriptionTopic for those offered`, 'Subscription.criteria', 'not-supported');
    return;
  }
  (primitiveExtensions(sub, 'criteria') ?? []).forEach((e, i) => {
    if (e.url !== EXT.filterCriteria) return;
    const where = `Subscription.criteria.extension[${i}]`;
    const criterion = e.valueString ? parseCriterion(e.valueString) : undefined;
    if (!criterion) return problem(`Filter criteria must look like Type?param=value; got '${e.valueString ?? ''}'`, where, 'invalid');
    for (const [name] of criterion.params) {
      const known = topic.filters.some((f) => f.resource === criterion.resourceType && f.filterParameter === name.split(':')[0]);
      if (!known) {
        const offered = topic.filters.map((f) => `${f.resource}?${f.filterParameter}`).join(', ');
        problem(`The topic ${topic.id} cannot filter by ${criterion.resourceType}?${name}; it offers ${offered}`, where, 'not-supported');
      }
    }
  });
  const content = (primitiveExtensions(sub.channel, 'payload') ?? []).find((e) => e.url === EXT.payloadContent)?.valueCode;
  if (content !== undefined && !CONTENTS.includes(content as PayloadContent)) {
    problem(`Unknown payload content '${content}'; use empty, id-only or full-resource`, 'Subscription.channel.payload.extension', 'value');
  }
}

async function checkCriteria(sub: Subscription, ctx: CheckContext, problem: Problem): Promise<void> {
  const criterion = parseCriterion(sub.criteria ?? '');
  if (!criterion) return problem(`Criteria must be a search such as CareTeam?patient=Patient/1, or a topic URL; got '${sub.criteria ?? ''}'`, 'Subscription.criteria', 'invalid');
  if (!ctx.isResourceType(criterion.resourceType)) return problem(`Unknown resource type '${criterion.resourceType}' in criteria`, 'Subscription.criteria', 'invalid');
  // The audit trail is its own append-only table with no change log (server/audit/): accepted, such a subscription would never fire.
  if (criterion.resourceType === 'AuditEvent') {
    return problem('AuditEvents are not notified: the audit trail is shipped with Bulk $export of AuditEvent and _since (README.md)', 'Subscription.criteria', 'not-supported');
  }
  // Ask the search engine, strictly, so unknown or malformed parameters are refused here rather than matching everything later.
  try {
    const probe = new URLSearchParams(criterion.params);
    probe.set('_count', '0');
    await ctx.search.search({ sql: ctx.sql, baseUrl: 'http://validation', strict: true }, criterion.resourceType, probe);
  } catch (err) {
    if (!(err instanceof FhirError)) throw err;
    problem(`The criteria are not a valid search: ${err.message}`, 'Subscription.criteria', 'invalid');
  }
}

async function checkChannel(sub: Subscription, ctx: CheckContext, problem: Problem): Promise<void> {
  const channel = sub.channel;
  const custom = (primitiveExtensions(channel, 'type') ?? []).find((e) => e.url === EXT.channelType)?.valueCoding?.code;
  const type = custom ?? channel.type;
  if (!CHANNELS.includes(type)) return problem(`Channel type '${type}' is not supported; use rest-hook or websocket`, 'Subscription.channel.type', 'not-supported');
  if (channel.payload && !PAYLOADS.includes(channel.payload)) {
    problem(`Payload '${channel.payload}' is not supported; use application/fhir+json or leave it empty`, 'Subscription.channel.payload', 'not-supported');
  }
  (channel.header ?? []).forEach((h, i) => {
    if (!/^[!#$%&'*+.^_`|~0-9A-Za-z-]+:\s*[^\r\n]*$/.test(h)) problem(`channel.header must be 'Name: value'; got '${h}'`, `Subscription.channel.header[${i}]`, 'invalid');
  });
  if (type === 'websocket') return;
  if (!channel.endpoint) return problem('A rest-hook channel needs an endpoint', 'Subscription.channel.endpoint', 'required');
  const why = await ctx.policy.problem(channel.endpoint);
  if (why) problem(why, 'Subscription.channel.endpoint', 'security');
}
