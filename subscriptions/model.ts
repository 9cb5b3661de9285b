import { ownerOf } from '../server/access/subscription-owner.js';
import type { Extension, Subscription } from '@medplum/fhirtypes';
import { findTopic, type Topic } from './topics.js';

/** Extension URLs of the Subscriptions R5 Backport IG 1.1.0 and of this hub. */
const BACKPORT = 'http://hl7.org/fhir/uv/subscriptions-backport/StructureDefinition';
export const EXT = {
  filterCriteria: `${BACKPORT}/backport-filter-criteria`,
  payloadContent: `${BACKPORT}/backport-payload-content`,
  heartbeatPeriod: `${BACKPORT}/backport-heartbeat-period`,
  timeout: `${BACKPORT}/backport-timeout`,
  maxCount: `${BACKPORT}/backport-max-count`,
  channelType: `${BACKPORT}/backport-channel-type`,
  /** Not in the IG: the key receivers verify the X-Hub-Signature-256 header with (docs in subscriptions/README.md). */
  signingSecret: 'http://neighbourhood-hub.example/fhir/StructureDefinition/subscription-signing-secret',
};
export const BACKPORT_PROFILE = `${BACKPORT}/backport-subscription`;

export type PayloadContent = 'empty' | 'id-only' | 'full-resource';
export type ChannelType = 'rest-hook' | 'websocket';

/** A topic filter `Type?param=value`, split for evaluation. */
export interface FilterCriterion {
  resourceType: string;
  params: URLSearchParams;
}

/** A Subscription resource read into the shape delivery needs. */
export interface SubscriptionModel {
  id: string;
  versionId: number;
  status: Subscription['status'];
  end?: Date;
  channelType: ChannelType;
  endpoint?: string;
  headers: Record<string, string>;
  /** R4 payload mime type; undefined = no payload (an empty ping). */
  payload?: string;
  timeoutMs?: number;
  maxCount: number;
  heartbeatSeconds?: number;
  secret?: string;
  /** The client that wrote it (server/access): notifications carry only what it may read. */
  owner?: string;
  /** R4 criteria subscription: one resource type and search parameters. */
  criteria?: FilterCriterion;
  /** Backport topic subscription. */
  topic?: Topic;
  topicUrl?: string;
  content: PayloadContent;
  filters: FilterCriterion[];
}

const ext = (list: Extension[] | undefined, url: string): Extension[] => (list ?? []).filter((e) => e.url === url);

/** Extensions on a primitive element live beside it as `_name.extension` in JSON. */
export function primitiveExtensions(owner: object | undefined, name: string): Extension[] | undefined {
  return (owner as Record<string, { extension?: Extension[] } | undefined> | undefined)?.[`_${name}`]?.extension;
}

export function isTopicBased(sub: Subscription): boolean {
  return /^https?:\/\//.test(sub.criteria ?? '') || !!sub.meta?.profile?.includes(BACKPORT_PROFILE);
}

/** `Type?a=b&c=d` (or `Type`) into its parts; undefined when it is not of that shape. */
export function parseCriterion(text: string): FilterCriterion | undefined {
  const m = /^([A-Z][A-Za-z]+)(?:\?(.*))?$/.exec(text.trim());
  if (!m) return undefined;
  return { resourceType: m[1], params: new URLSearchParams(m[2] ?? '') };
}

/** The delivery view of a stored Subscription. Assumes it passed validate.ts. */
export function toModel(sub: Subscription & { id: string }): SubscriptionModel {
  const channel = sub.channel;
  const topicBased = isTopicBased(sub);
  const customType = ext(primitiveExtensions(channel, 'type'), EXT.channelType)[0]?.valueCoding?.code;
  const content = ext(primitiveExtensions(channel, 'payload'), EXT.payloadContent)[0]?.valueCode as PayloadContent | undefined;
  const headers: Record<string, string> = {};
  for (const h of channel.header ?? []) {
    const i = h.indexOf(':');
    if (i > 0) headers[h.slice(0, i).trim()] = h.slice(i + 1).trim();
  }
  const timeout = ext(channel.extension, EXT.timeout)[0]?.valueUnsignedInt;
  return {
    id: sub.id,
    versionId: Number(sub.meta?.versionId ?? 1),
    status: sub.status,
    end: sub.end ? new Date(sub.end) : undefined,
    channelType: (customType ?? channel.type) as ChannelType,
    endpoint: channel.endpoint,
    headers,
    payload: channel.payload || undefined,
    timeoutMs: timeout ? timeout * 1000 : undefined,
    maxCount: ext(channel.extension, EXT.maxCount)[0]?.valuePositiveInt ?? 1,
    heartbeatSeconds: ext(channel.extension, EXT.heartbeatPeriod)[0]?.valueUnsignedInt,
    secret: ext(sub.extension, EXT.signingSecret)[0]?.valueString,
    owner: ownerOf(sub),
    criteria: topicBased ? undefined : parseCriterion(sub.criteria ?? ''),
    topic: topicBased ? findTopic(sub.criteria ?? '') : undefined,
    topicUrl: topicBased ? sub.criteria : undefined,
    content: content ?? (topicBased ? 'id-only' : channel.payload ? 'full-resource' : 'empty'),
    filters: topicBased
      ? ext(primitiveExtensions(sub, 'criteria'), EXT.filterCriteria).flatMap((e) => {
          const f = e.valueString ? parseCriterion(e.valueString) : undefined;
          return f ? [f] : [];
        })
      : [],
  };
}
