// ISO 7064 MOD 37-2 over the short-form prescription id (XXXXXX-XXXXXX-XXXXXC), as EPS checks it.
// Written here because no maintained npm package implements EPS's variant; it is ten lines.
const CHECK_CHARACTERS = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ+';

export function prescriptionIdCheckCharacter(id: string): string {
  const body = id.replace(/-/g, '').slice(0, -1);
  let total = 0;
  for (const c of body) total = ((total + parseInt(c, 36)) * 2) % 37;
  return CHECK_CHARACTERS[(38 - total) % 37];
}

/** Whether a short-form prescription id is well formed and its check character is right. */
export function isValidPrescriptionId(id: string): boolean {
  return /^[0-9A-F]{6}-[0-9A-Z]{6}-[0-9A-F]{5}[0-9A-Z+]$/i.test(id) && prescriptionIdCheckCharacter(id.toUpperCase()) === id.slice(-1).toUpperCase();
}
