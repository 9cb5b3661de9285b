/** Where a job's status and files are served, below the FHIR base: not FHIR interactions, so plain routes (routes.ts). */
export const STATUS_PATH = '_export';

/** The status URL of a job (the kick-off's Content-Location). */
export const statusUrl = (baseUrl: string, id: string): string => `${baseUrl}/${STATUS_PATH}/${id}`;

/** The URL of one NDJSON output file of a job, as listed in the manifest. */
export const fileUrl = (baseUrl: string, id: string, fileNo: number): string => `${statusUrl(baseUrl, id)}/${fileNo}.ndjson`;
