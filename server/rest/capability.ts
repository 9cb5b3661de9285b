import { getResourceTypes } from '@medplum/core';
import type { CapabilityStatement, CapabilityStatementRestResource } from '@medplum/fhirtypes';
import { isKnownResourceType } from '../../profiles/validator.js';
import type { SearchEngine } from '../search/search.js';
import type { Operation } from './operations.js';

const SOFTWARE_VERSION = '0.1.0';
const started = new Date().toISOString();

/** Extra facts a part of the server adds (profiles, subscriptions, security, ...), listed in the route table. */
export type CapabilityContributor = (statement: CapabilityStatement) => void;

/** What this server does, truthfully: https://hl7.org/fhir/R4/capabilitystatement.html */
export function capabilityStatement(baseUrl: string, search: SearchEngine, operations: Operation[], contributors: CapabilityContributor[]): CapabilityStatement {
  const statement: CapabilityStatement = {
    resourceType: 'CapabilityStatement',
    status: 'active',
    date: started,
    kind: 'instance',
    software: { name: 'Neighbourhood FHIR hub', version: SOFTWARE_VERSION },
    implementation: { description: 'FHIR R4 hub for an NHS neighbourhood team', url: baseUrl },
    fhirVersion: '4.0.1',
    format: ['application/fhir+json', 'json'],
    patchFormat: ['application/json-patch+json', 'application/fhir+json'],
    rest: [
      {
        mode: 'server',
        resource: getResourceTypes()
          .filter((t) => isKnownResourceType(t))
          .sort()
          .map((type): CapabilityStatementRestResource => ({
            type,
            interaction: ['read', 'vread', 'update', 'patch', 'delete', 'history-instance', 'history-type', 'create', 'search-type'].map((code) => ({
              code: code as 'read',
            })),
            versioning: 'versioned-update',
            readHistory: true,
            updateCreate: true,
            conditionalCreate: true,
            conditionalRead: 'full-support',
            conditionalUpdate: true,
            conditionalDelete: 'single',
            searchInclude: ['*'],
            searchRevInclude: ['*'],
            searchParam: search.parametersOf(type).map((p) => ({ name: p.name, type: p.type as 'string', ...(p.definition ? { definition: p.definition } : {}) })),
            operation: operations
              .filter((op) => (op.type || op.instance) && (!op.resourceTypes || op.resourceTypes.includes(type)))
              .map((op) => ({ name: op.name, definition: op.definition })),
          })),
        interaction: [{ code: 'history-system' }, { code: 'search-system' }],
        operation: operations.filter((op) => op.system).map((op) => ({ name: op.name, definition: op.definition })),
      },
    ],
  };
  for (const contribute of contributors) contribute(statement);
  return statement;
}
