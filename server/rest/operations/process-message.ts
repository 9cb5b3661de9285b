import type { Bundle } from '@medplum/fhirtypes';
import { processMessage } from '../../messaging/process-message.js';
import { registerOperation } from '../operations.js';

/** POST /fhir/$process-message: https://hl7.org/fhir/R4/messageheader-operation-process-message.html */
registerOperation({
  name: 'process-message',
  system: true,
  definition: 'http://hl7.org/fhir/OperationDefinition/MessageHeader-process-message',
  handler: (req, ctx) => processMessage(req.body as Bundle, ctx, req.headers.requestId),
});
