// The XHTML of a narrative (Narrative.div): https://hl7.org/fhir/R4/narrative.html#xhtml and its
// invariants txt-1 (only basic formatting, no scripts, forms, frames, objects, event attributes or
// external references) and txt-2 (some non-whitespace content). By hand, over the tags: the rules
// name elements and attributes, which a scan of the tags finds without an XML parser.

const XHTML_DIV = /^<div(\s[^>]*)?\sxmlns\s*=\s*(["'])http:\/\/www\.w3\.org\/1999\/xhtml\2[^>]*>[\s\S]*<\/div>$/;
const TAG = /<\s*(\/?)\s*([A-Za-z][\w:.-]*)((?:[^>"']|"[^"]*"|'[^']*')*)>/g;
const ATTRIBUTE = /([A-Za-z_:][\w:.-]*)\s*(?:=\s*("[^"]*"|'[^']*'|[^\s>]+))?/g;
/** Elements R4 forbids in a narrative: document structure, scripts, styles, forms, frames, objects, external references. */
const FORBIDDEN = new Set(['html', 'head', 'body', 'title', 'meta', 'base', 'link', 'script', 'noscript', 'style', 'form', 'input', 'button', 'select', 'option', 'textarea', 'label', 'fieldset', 'iframe', 'frame', 'frameset', 'object', 'embed', 'applet', 'param', 'svg', 'math']);

/** Why a Narrative.div is not what R4 allows, or undefined when it is. */
export function narrativeProblem(div: string): string | undefined {
  const text = div.trim();
  if (!XHTML_DIV.test(text)) return 'A narrative is a <div> element in the XHTML namespace (xmlns="http://www.w3.org/1999/xhtml")';
  for (const [, , name, attributes] of text.matchAll(TAG)) {
    const element = name.toLowerCase().replace(/^.*:/, '');
    if (FORBIDDEN.has(element)) return `A narrative may not hold a <${element}> element (txt-1)`;
    for (const [, attribute, value] of attributes.matchAll(ATTRIBUTE)) {
      const lower = attribute.toLowerCase();
      if (lower.startsWith('on')) return `A narrative may not hold the event attribute ${attribute} (txt-1)`;
      if (lower.startsWith('xlink:') || (value && /^["']?\s*(javascript|vbscript|data:text\/html)/i.test(value))) return `A narrative may not hold the attribute ${attribute}=${value} (txt-1)`;
    }
  }
  // txt-2: text, or an image, beyond the markup.
  if (!/<img\b/i.test(text) && !text.replace(TAG, '').replace(/&nbsp;|&#160;/g, '').trim()) return 'A narrative must have some non-whitespace content (txt-2)';
  return undefined;
}
