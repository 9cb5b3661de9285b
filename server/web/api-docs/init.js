// Swagger UI over the document generated from this server's CapabilityStatement; nothing leaves the server (no validator badge).
window.ui = SwaggerUIBundle({
  url: '/api-docs/openapi.json',
  dom_id: '#swagger-ui',
  deepLinking: true,
  docExpansion: 'none',
  defaultModelsExpandDepth: 0,
  validatorUrl: null,
  filter: true,
  presets: [SwaggerUIBundle.presets.apis],
});
