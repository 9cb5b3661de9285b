import type { CapabilityStatement, CapabilityStatementRestResource } from '@medplum/fhirtypes';

/** Where a FHIR operation is invoked and whether GET may call it; the CapabilityStatement names operations but not their levels. */
export interface OperationLevels {
  system?: boolean;
  type?: boolean;
  instance?: boolean;
  idempotent?: boolean;
}

type Json = Record<string, unknown>;

const OAUTH_URIS = 'http://fhir-registry.smarthealthit.org/StructureDefinition/oauth-uris';
const FHIR_JSON = 'application/fhir+json';

/** Result parameters any search takes (https://hl7.org/fhir/R4/search.html#table). */
const SEARCH_CONTROLS: Array<[string, string]> = [
  ['_count', 'Page size'],
  ['_sort', 'Sort order: comma-separated parameter names, `-` for descending'],
  ['_include', 'Include referenced resources (`Type:param[:target]`), `:iterate` allowed'],
  ['_revinclude', 'Include resources that refer to the matches'],
  ['_summary', '`true`, `text`, `data`, `count` or `false`'],
  ['_elements', 'Comma-separated top-level elements to return'],
  ['_total', '`none`, `estimate` or `accurate`'],
];

/**
 * An OpenAPI 3 description of the FHIR API, derived from the server's CapabilityStatement so the two
 * cannot disagree: every resource type with its interactions, search parameters and operations, the
 * system interactions and operations, and the SMART token endpoint named in rest.security.
 */
export function openApiFromCapability(statement: CapabilityStatement, levelsOf: (operation: string) => OperationLevels | undefined): Json {
  const rest = statement.rest?.[0];
  const baseUrl = statement.implementation?.url ?? '/fhir';
  const tokenUrl = rest?.security?.extension?.find((e) => e.url === OAUTH_URIS)?.extension?.find((e) => e.url === 'token')?.valueUri;
  const paths: Record<string, Json> = {};
  const schemas: Record<string, Json> = {
    Resource: { type: 'object', required: ['resourceType'], properties: { resourceType: { type: 'string' }, id: { type: 'string' }, meta: { type: 'object' } }, additionalProperties: true },
    Bundle: resourceSchema('Bundle'),
    OperationOutcome: resourceSchema('OperationOutcome'),
    Parameters: resourceSchema('Parameters'),
  };
  const tags: Json[] = [{ name: 'System', description: 'Whole-server interactions and operations' }];
  const add = (path: string, method: string, op: Json): void => {
    paths[path] = { ...paths[path], [method]: op };
  };

  add('/metadata', 'get', { tags: ['System'], operationId: 'capabilities', summary: 'The CapabilityStatement this document is generated from', security: [], responses: ok('CapabilityStatement') });
  const system = new Set((rest?.interaction ?? []).map((i) => i.code));
  const documented = (code: string): string | undefined => rest?.interaction?.find((i) => i.code === code)?.documentation;
  if (system.has('search-system')) add('/', 'get', { tags: ['System'], operationId: 'search-system', summary: 'Search across all types (`_type` names them)', parameters: [query('_type', 'Resource types to search'), ...controls()], responses: ok('Bundle') });
  if (system.has('transaction') || system.has('batch')) {
    const description = [documented('transaction'), documented('batch')].filter(Boolean).join('\n\n');
    add('/', 'post', { tags: ['System'], operationId: 'batch-transaction', summary: 'Process a batch or transaction Bundle', ...(description ? { description } : {}), requestBody: body('Bundle'), responses: ok('Bundle') });
  }
  if (system.has('history-system')) add('/_history', 'get', { tags: ['System'], operationId: 'history-system', summary: 'History of all resources', parameters: historyParams(), responses: ok('Bundle') });
  for (const op of rest?.operation ?? []) {
    const levels = levelsOf(op.name);
    operationPaths(add, '', op.name, op.definition, levels, 'System');
  }

  for (const resource of rest?.resource ?? []) {
    const type = resource.type;
    tags.push({ name: type, ...(resource.documentation ? { description: resource.documentation } : {}), externalDocs: { url: `https://hl7.org/fhir/R4/${type.toLowerCase()}.html` } });
    schemas[type] = resourceSchema(type);
    resourcePaths(add, resource);
    for (const op of resource.operation ?? []) {
      const levels = levelsOf(op.name);
      if (levels?.type) operationPaths(add, `/${type}`, op.name, op.definition, levels, type);
      if (levels?.instance) operationPaths(add, `/${type}/{id}`, op.name, op.definition, levels, type);
    }
  }

  if (tokenUrl) {
    add('/oauth2/token', 'post', {
      tags: ['System'],
      operationId: 'token',
      summary: 'SMART Backend Services token request (client_credentials)',
      description: 'Authenticate with a signed client assertion (private_key_jwt) or HTTP Basic with a client secret.',
      servers: [{ url: new URL(tokenUrl).origin }],
      security: [],
      requestBody: {
        required: true,
        content: {
          'application/x-www-form-urlencoded': {
            schema: {
              type: 'object',
              required: ['grant_type'],
              properties: {
                grant_type: { type: 'string', enum: ['client_credentials'] },
                scope: { type: 'string' },
                client_assertion_type: { type: 'string', enum: ['urn:ietf:params:oauth:client-assertion-type:jwt-bearer'] },
                client_assertion: { type: 'string' },
              },
            },
          },
        },
      },
      responses: {
        '200': { description: 'An access token', content: { 'application/json': { schema: { type: 'object', properties: { access_token: { type: 'string' }, token_type: { type: 'string' }, expires_in: { type: 'integer' }, scope: { type: 'string' } } } } } },
        '400': { description: 'An OAuth error (invalid_client, invalid_grant, invalid_scope, ...)' },
        '401': { description: 'The client could not be authenticated' },
      },
    });
  }

  return {
    openapi: '3.0.3',
    info: { title: statement.software?.name ?? 'FHIR API', version: statement.software?.version ?? '0', description: `${statement.implementation?.description ?? ''}. FHIR ${statement.fhirVersion}; generated from ${baseUrl}/metadata.` },
    externalDocs: { url: 'https://hl7.org/fhir/R4/http.html', description: 'FHIR R4 RESTful API' },
    servers: [{ url: baseUrl }],
    tags,
    paths,
    components: {
      schemas,
      responses: { Error: { description: 'An OperationOutcome naming the problem', content: { [FHIR_JSON]: { schema: ref('OperationOutcome') } } } },
      securitySchemes: tokenUrl
        ? {
            smart: { type: 'oauth2', description: rest?.security?.description, flows: { clientCredentials: { tokenUrl, scopes: { 'system/*.cruds': 'Every interaction on every type the client may use', 'system/*.rs': 'Read and search' } } } },
            bearer: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' },
          }
        : {},
    },
    ...(tokenUrl ? { security: [{ smart: [] }, { bearer: [] }] } : {}),
  };
}

type Add = (path: string, method: string, op: Json) => void;

/** The RESTful interactions of one type (https://hl7.org/fhir/R4/http.html#summary). */
function resourcePaths(add: Add, resource: CapabilityStatementRestResource): void {
  const type = resource.type;
  const has = new Set((resource.interaction ?? []).map((i) => i.code));
  const id = pathParam('id', 'Logical id');
  const tags = [type];
  const ifMatch = header('If-Match', 'Update only if the current version is this ETag (W/"n")');
  if (has.has('search-type')) {
    const params = [...(resource.searchParam ?? []).map((p) => query(p.name, `${p.type} search parameter${p.documentation ? `: ${p.documentation}` : ''}`, p.definition)), ...controls()];
    add(`/${type}`, 'get', { tags, operationId: `search-${type}`, summary: `Search ${type}`, parameters: params, responses: ok('Bundle') });
    add(`/${type}/_search`, 'post', { tags, operationId: `search-post-${type}`, summary: `Search ${type} with a form body`, requestBody: { content: { 'application/x-www-form-urlencoded': { schema: { type: 'object', additionalProperties: { type: 'string' } } } } }, responses: ok('Bundle') });
  }
  if (has.has('create')) {
    const params = resource.conditionalCreate ? [header('If-None-Exist', 'Conditional create: search criteria that must match nothing')] : [];
    add(`/${type}`, 'post', { tags, operationId: `create-${type}`, summary: `Create a ${type}`, parameters: params, requestBody: body(type), responses: { ...ok(type, '201'), ...ok(type) } });
  }
  if (resource.conditionalUpdate) add(`/${type}`, 'put', { tags, operationId: `conditional-update-${type}`, summary: `Update the ${type} the search criteria match`, requestBody: body(type), responses: { ...ok(type), ...ok(type, '201') } });
  if (resource.conditionalDelete && resource.conditionalDelete !== 'not-supported') {
    add(`/${type}`, 'delete', { tags, operationId: `conditional-delete-${type}`, summary: `Delete the ${type} the search criteria match`, responses: { '204': { description: 'Deleted' }, default: error() } });
  }
  if (has.has('read')) add(`/${type}/{id}`, 'get', { tags, operationId: `read-${type}`, summary: `Read a ${type}`, parameters: [id], responses: ok(type) });
  if (has.has('update')) add(`/${type}/{id}`, 'put', { tags, operationId: `update-${type}`, summary: `Update a ${type}${resource.updateCreate ? ' (or create it with this id)' : ''}`, parameters: [id, ifMatch], requestBody: body(type), responses: { ...ok(type), ...ok(type, '201') } });
  if (has.has('patch')) {
    add(`/${type}/{id}`, 'patch', {
      tags,
      operationId: `patch-${type}`,
      summary: `Patch a ${type} (JSON Patch or FHIRPath Patch)`,
      parameters: [id, ifMatch],
      requestBody: { required: true, content: { 'application/json-patch+json': { schema: { type: 'array', items: { type: 'object' } } }, [FHIR_JSON]: { schema: ref('Parameters') } } },
      responses: ok(type),
    });
  }
  if (has.has('delete')) add(`/${type}/{id}`, 'delete', { tags, operationId: `delete-${type}`, summary: `Delete a ${type}`, parameters: [id], responses: { '204': { description: 'Deleted' }, default: error() } });
  if (has.has('history-instance')) add(`/${type}/{id}/_history`, 'get', { tags, operationId: `history-instance-${type}`, summary: `History of one ${type}`, parameters: [id, ...historyParams()], responses: ok('Bundle') });
  if (has.has('vread')) add(`/${type}/{id}/_history/{vid}`, 'get', { tags, operationId: `vread-${type}`, summary: `Read one version of a ${type}`, parameters: [id, pathParam('vid', 'Version id')], responses: ok(type) });
  if (has.has('history-type')) add(`/${type}/_history`, 'get', { tags, operationId: `history-type-${type}`, summary: `History of all ${type} resources`, parameters: historyParams(), responses: ok('Bundle') });
}

/** POST (and GET when it changes nothing) of `$name` at one level (https://hl7.org/fhir/R4/operations.html). */
function operationPaths(add: Add, prefix: string, name: string, definition: string, levels: OperationLevels | undefined, tag: string): void {
  const level = prefix === '' ? 'system' : prefix.endsWith('{id}') ? 'instance' : 'type';
  const path = `${prefix}/$${name}`;
  const base = {
    tags: [tag],
    summary: `$${name} (${level} level)`,
    externalDocs: { url: definition, description: 'OperationDefinition' },
    ...(level === 'instance' ? { parameters: [pathParam('id', 'Logical id')] } : {}),
    responses: { '200': { description: 'The operation result', content: { [FHIR_JSON]: { schema: ref('Resource') } } }, default: error() },
  };
  const opId = `${name}-${tag}-${level}`;
  add(path, 'post', { ...base, operationId: `${opId}-post`, requestBody: { content: { [FHIR_JSON]: { schema: ref('Resource') } } } });
  if (levels?.idempotent) add(path, 'get', { ...base, operationId: `${opId}-get` });
}

function resourceSchema(type: string): Json {
  return {
    type: 'object',
    description: `A FHIR R4 ${type}; the full structure is in the specification`,
    externalDocs: { url: `https://hl7.org/fhir/R4/${type.toLowerCase()}.html` },
    required: ['resourceType'],
    properties: { resourceType: { type: 'string', enum: [type] }, id: { type: 'string' }, meta: { type: 'object' } },
    additionalProperties: true,
  };
}

function ref(name: string): Json {
  return { $ref: `#/components/schemas/${name}` };
}

function ok(type: string, status = '200'): Json {
  return { [status]: { description: status === '201' ? 'Created' : 'OK', content: { [FHIR_JSON]: { schema: ref(type) } } }, default: error() };
}

function error(): Json {
  return { $ref: '#/components/responses/Error' };
}

function body(type: string): Json {
  return { required: true, content: { [FHIR_JSON]: { schema: ref(type) } } };
}

function query(name: string, description: string, definition?: string): Json {
  return { name, in: 'query', required: false, description: definition ? `${description} (${definition})` : description, schema: { type: 'string' } };
}

function header(name: string, description: string): Json {
  return { name, in: 'header', required: false, description, schema: { type: 'string' } };
}

function pathParam(name: string, description: string): Json {
  return { name, in: 'path', required: true, description, schema: { type: 'string' } };
}

function controls(): Json[] {
  return SEARCH_CONTROLS.map(([name, description]) => query(name, description));
}

function historyParams(): Json[] {
  return [query('_count', 'Page size'), query('_since', 'Only versions since this instant'), query('_at', 'Versions current at this time')];
}
