import { MEDICINE_HOOKS } from './hook-request.js';

export const MEDICINES_SERVICE_ID = 'neighbourhood-medicines';

/** A CDS Service as discovery lists it (https://cds-hooks.hl7.org/2.0/#response). */
export interface CdsService {
  hook: string;
  title: string;
  description: string;
  id: string;
  prefetch: Record<string, string>;
}

/**
 * GET /cds-services. A service names one hook, so the medicines service is listed once per hook it
 * answers, under the same id: the request's `hook` tells them apart.
 */
export function discovery(): { services: CdsService[] } {
  return {
    services: MEDICINE_HOOKS.map((hook) => ({
      hook,
      title: 'Medicines across prescribers',
      description:
        'Warns when a draft prescription duplicates a medicine or active ingredient the patient already has from any prescriber in the neighbourhood (GP, pharmacist prescriber, mental health, dentist), naming who prescribed it and how to reach them; flags polypharmacy (10 or more medicines).',
      id: MEDICINES_SERVICE_ID,
      prefetch: {
        patient: 'Patient/{{context.patientId}}',
        medications: 'MedicationRequest?patient={{context.patientId}}&status=active,on-hold&_include=MedicationRequest:medication',
      },
    })),
  };
}
