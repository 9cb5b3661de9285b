import { daysInMonth } from '../server/fhir/calendar.js';
import { narrativeProblem } from './narrative.js';

// Primitive value rules of the R4 JSON format that the JSON schema and Medplum leave out:
// https://hl7.org/fhir/R4/datatypes.html#primitive
const INT32_MIN = -2147483648;
const INT32_MAX = 2147483647;
const MAX_STRING = 1024 * 1024;

const DATE = /^(\d{4})(-(\d{2})(-(\d{2}))?)?$/;
const DATE_TIME = /^(\d{4})(-(\d{2})(-(\d{2})(T(\d{2}):(\d{2}):(\d{2})(\.\d+)?(Z|[+-]\d{2}:\d{2})?)?)?)?$/;
const TIME = /^([01]\d|2[0-3]):[0-5]\d:([0-5]\d|60)(\.\d+)?$/;

const formats: Record<string, RegExp> = {
  code: /^[^\s]+( [^\s]+)*$/,
  id: /^[A-Za-z0-9\-.]{1,64}$/,
  uri: /^\S+$/,
  url: /^\S+$/,
  canonical: /^\S+$/,
  oid: /^urn:oid:[0-2](\.(0|[1-9]\d*))+$/,
  uuid: /^urn:uuid:[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/,
  base64Binary: /^(\s*[0-9a-zA-Z+/=]{4}\s*)+$/,
};

const STRING_TYPES = new Set(['string', 'markdown', 'xhtml', 'code', 'id', 'uri', 'url', 'canonical', 'oid', 'uuid', 'base64Binary', 'date', 'dateTime', 'instant', 'time']);
const NUMBER_TYPES = new Set(['integer', 'positiveInt', 'unsignedInt', 'decimal']);

export const PRIMITIVE_TYPES = new Set([...STRING_TYPES, ...NUMBER_TYPES, 'boolean']);

/** Why `value` is not a valid FHIR `type`, or undefined when it is. Wrong JSON types are the schema's job. */
export function primitiveProblem(type: string, value: unknown): string | undefined {
  if (typeof value === 'string' && STRING_TYPES.has(type)) return stringProblem(type, value);
  if (typeof value === 'number' && NUMBER_TYPES.has(type)) return numberProblem(type, value);
  return undefined;
}

function stringProblem(type: string, value: string): string | undefined {
  if (value === '') return `Empty string: R4 forbids empty values, leave the ${type} out instead`;
  if (value.trim() === '') return `${an(type)} made only of whitespace is empty, which R4 forbids`;
  if (value.length > MAX_STRING) return `${an(type)} may not be longer than 1 MB`;
  switch (type) {
    case 'date':
      return dateProblem(value, DATE, 'date', 'YYYY, YYYY-MM or YYYY-MM-DD');
    case 'dateTime':
      return dateProblem(value, DATE_TIME, 'dateTime', 'YYYY, YYYY-MM, YYYY-MM-DD or YYYY-MM-DDThh:mm:ss+zz:zz');
    case 'instant':
      return dateProblem(value, DATE_TIME, 'instant', 'YYYY-MM-DDThh:mm:ss+zz:zz');
    case 'time':
      return TIME.test(value) ? undefined : `Invalid time '${value}': expected hh:mm:ss`;
    case 'xhtml':
      return narrativeProblem(value);
  }
  const format = formats[type];
  if (format && !format.test(value)) return `Invalid ${type} '${value}'${type === 'code' ? ': no leading, trailing or repeated whitespace' : ''}`;
  return undefined;
}

function dateProblem(value: string, pattern: RegExp, type: string, expected: string): string | undefined {
  const m = pattern.exec(value);
  if (!m) return `Invalid ${type} '${value}': expected ${expected}`;
  const [, yyyy, , mm, , dd, time, hh, mi, ss, , zone] = m;
  if (mm && (Number(mm) < 1 || Number(mm) > 12)) return `Invalid ${type} '${value}': there is no month ${mm}`;
  if (dd && (Number(dd) < 1 || Number(dd) > daysInMonth(Number(yyyy), Number(mm)))) return `Invalid ${type} '${value}': ${yyyy}-${mm} has no day ${dd}`;
  if (!time) return type === 'instant' ? `Invalid instant '${value}': an instant needs a time and a timezone` : undefined;
  if (Number(hh) > 23 || Number(mi) > 59 || Number(ss) > 60) return `Invalid ${type} '${value}': there is no time ${hh}:${mi}:${ss}`;
  if (!zone) return `Invalid ${type} '${value}': ${an(type).replace(/^A/, 'a')} with a time must have a timezone (Z or +hh:mm)`;
  if (zone !== 'Z' && !/^[+-]((0\d|1[0-3]):[0-5]\d|14:00)$/.test(zone)) return `Invalid ${type} '${value}': timezone ${zone} is out of range`;
  return undefined;
}

/** "An integer", "A date". */
function an(type: string): string {
  return `${/^[aeiou]/i.test(type) ? 'An' : 'A'} ${type}`;
}

function numberProblem(type: string, value: number): string | undefined {
  if (!Number.isFinite(value)) return `Invalid ${type}: ${value}`;
  if (type === 'decimal') return undefined;
  if (!Number.isInteger(value)) return `${an(type)} must be a whole number, found ${value}`;
  const min = type === 'positiveInt' ? 1 : type === 'unsignedInt' ? 0 : INT32_MIN;
  if (value < min || value > INT32_MAX) return `${an(type)} must be between ${min} and ${INT32_MAX}, found ${value}`;
  return undefined;
}
