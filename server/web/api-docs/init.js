// Swagger UI over the document generated from this server's CapabilityStatement, offered in groups
// of resource types (the neighbourhood's own first): Swagger UI cannot render all ~150 types at once.
// The whole document stays at /api-docs/openapi.json. Nothing leaves the server (no validator badge).
const CORE = ['Patient', 'CareTeam', 'Appointment', 'Schedule', 'Slot', 'MedicationRequest', 'ServiceRequest', 'Task', 'Organization', 'Practitioner', 'PractitionerRole', 'Location', 'HealthcareService', 'Subscription', 'AuditEvent', 'DetectedIssue', 'CarePlan', 'Condition', 'MessageHeader', 'Provenance'];
const GROUP_SIZE = 25;

async function groups() {
  const capability = await (await fetch('/fhir/metadata', { headers: { accept: 'application/fhir+json' } })).json();
  const types = capability.rest[0].resource.map((r) => r.type);
  const core = CORE.filter((t) => types.includes(t));
  const urls = [{ name: 'Neighbourhood types', url: `/api-docs/openapi.json?types=${core.join(',')}` }];
  for (let i = 0; i < types.length; i += GROUP_SIZE) {
    const group = types.slice(i, i + GROUP_SIZE);
    urls.push({ name: `${group[0]} – ${group[group.length - 1]}`, url: `/api-docs/openapi.json?types=${group.join(',')}` });
  }
  return urls;
}

groups().then((urls) => {
  window.ui = SwaggerUIBundle({
    urls,
    'urls.primaryName': urls[0].name,
    dom_id: '#swagger-ui',
    deepLinking: true,
    docExpansion: 'none',
    defaultModelsExpandDepth: 0,
    validatorUrl: null,
    filter: true,
    presets: [SwaggerUIBundle.presets.apis, SwaggerUIStandalonePreset],
    layout: 'StandaloneLayout',
  });
});
