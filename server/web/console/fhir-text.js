// How FHIR data reads to a person: names, NHS numbers, codes, and references resolved through a Bundle.

export const NHS_NUMBER = 'https://fhir.nhs.uk/Id/nhs-number';

export function humanName(names) {
  const n = names?.find((x) => x.use === 'official') ?? names?.[0];
  if (!n) return 'Name not recorded';
  return n.text ?? [...(n.prefix ?? []), ...(n.given ?? []), n.family].filter(Boolean).join(' ');
}

/** 943 476 5919: the NHS's own spacing. */
export function nhsNumber(patient) {
  const v = patient.identifier?.find((i) => i.system === NHS_NUMBER)?.value;
  return v ? v.replace(/^(\d{3})(\d{3})(\d{4})$/, '$1 $2 $3') : 'none recorded';
}

export function concept(cc) {
  if (!cc) return '';
  return cc.text ?? cc.coding?.map((c) => c.display ?? c.code).filter(Boolean).join(', ') ?? '';
}

/** Resolves references against the resources of a Bundle (matches and includes). */
export function resolver(bundles) {
  const byRef = new Map();
  for (const b of bundles) for (const e of b?.entry ?? []) if (e.resource?.id) byRef.set(`${e.resource.resourceType}/${e.resource.id}`, e.resource);
  const get = (ref) => (ref?.reference ? byRef.get(ref.reference.replace(/^.*\/(\w+\/[^/]+)$/, '$1')) : undefined);
  /** A person-readable name of what a Reference points at. */
  const name = (ref) => {
    if (!ref) return '';
    const r = get(ref);
    if (!r) return ref.display ?? ref.identifier?.value ?? ref.reference ?? '';
    switch (r.resourceType) {
      case 'Patient':
      case 'Practitioner':
      case 'RelatedPerson':
        return humanName(r.name);
      case 'PractitionerRole': {
        const who = get(r.practitioner);
        const org = get(r.organization);
        return [who ? humanName(who.name) : r.practitioner?.display, org?.name ?? r.organization?.display].filter(Boolean).join(', ') || concept(r.code?.[0]);
      }
      default:
        return r.name ?? r.title ?? concept(r.code) ?? ref.reference;
    }
  };
  return { get, name };
}
