import type { Basic, Extension } from '@medplum/fhirtypes';
import type { Store } from '../server/store/store.js';
import { TOPICS, type Topic } from './topics.js';

const R5 = 'http://hl7.org/fhir/5.0/StructureDefinition/extension-SubscriptionTopic';
const PROFILE = 'http://hl7.org/fhir/5.0/StructureDefinition/profile-SubscriptionTopic';

/**
 * A topic as R4 can carry it: a Basic resource with the R5 SubscriptionTopic cross-version
 * extensions, as the Backport IG's R4 topic example (Basic r4-encounter-complete) does.
 */
export function topicAsBasic(topic: Topic): Basic & { id: string } {
  const extension: Extension[] = [
    { url: 'http://hl7.org/fhir/StructureDefinition/artifact-url', valueUri: topic.url },
    { url: `${R5}.title`, valueString: topic.title },
    { url: `${R5}.description`, valueMarkdown: topic.description },
    ...topic.triggers.map((t) => ({
      url: `${R5}.resourceTrigger`,
      extension: [
        { url: 'description', valueMarkdown: t.description },
        { url: 'resource', valueUri: `http://hl7.org/fhir/StructureDefinition/${t.resource}` },
        ...t.supportedInteraction.map((i) => ({ url: 'supportedInteraction', valueCode: i })),
        ...(t.fhirPathCriteria ? [{ url: 'fhirPathCriteria', valueString: t.fhirPathCriteria }] : []),
      ],
    })),
    ...topic.filters.map((f) => ({
      url: `${R5}.canFilterBy`,
      extension: [
        { url: 'description', valueMarkdown: f.description },
        { url: 'resource', valueUri: f.resource },
        { url: 'filterParameter', valueString: f.filterParameter },
      ],
    })),
    ...[...new Set(topic.triggers.map((t) => t.resource))].map((resource) => ({ url: `${R5}.notificationShape`, extension: [{ url: 'resource', valueUri: resource }] })),
  ];
  return {
    resourceType: 'Basic',
    id: `topic-${topic.id}`,
    meta: { profile: [PROFILE] },
    extension,
    modifierExtension: [{ url: 'http://hl7.org/fhir/StructureDefinition/artifact-status', valueCode: 'active' }],
    code: { coding: [{ system: 'http://hl7.org/fhir/fhir-types', code: 'SubscriptionTopic' }] },
  };
}

/** Stores the built-in topics as Basic resources, writing only those that are missing or changed. */
export async function publishTopics(store: Store): Promise<void> {
  for (const topic of TOPICS) {
    const basic = topicAsBasic(topic);
    const current = await store.read('Basic', basic.id);
    if (current?.content && !current.deleted) {
      const { meta: _m, ...stored } = JSON.parse(current.content) as Basic;
      const { meta: _n, ...wanted } = basic;
      if (JSON.stringify(stored) === JSON.stringify(wanted) && JSON.stringify(_m?.profile) === JSON.stringify(_n?.profile)) continue;
    }
    await store.update(basic).catch(() => undefined); // two processes starting at once: either write will do
  }
}
