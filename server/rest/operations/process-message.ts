import type { Bundle } from '@medplum/fhirtypes';
import { processMessage } from '../../messaging/process-message.js';
import type { Operation } from '../operations.js';
import type { Route } from '../request.js';

/** POST /fhir/$process-message: https://hl7.org/fhir/R4/messageheader-operation-process-message.html; the message's transaction goes through `route`. */
export function processMessageOperation(route: Route): Operation {
  return {
    name: 'process-message',
    system: true,
    definition: 'http://hl7.org/fhir/OperationDefinition/MessageHeader-process-message',
    handler: (req, ctx) => processMessage(req.body as Bundle, ctx, route, req.headers.requestId),
  };
}
