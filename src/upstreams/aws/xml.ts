/**
 * The XML of AWS Query-protocol answers (IAM's `<GetUserResponse>`, EC2's `<DescribeSecurityGroupsResponse>`): a
 * strict reader of the subset those documents use — elements, attributes (read and dropped), text, the five
 * predefined entities and character references, an XML declaration. A DOCTYPE, CDATA, a processing instruction or
 * anything unbalanced is an error: the gateway reads only answers it can read exactly. And the writer's one need,
 * escaping text.
 */

export interface XmlElement {
  name: string;
  children: XmlElement[];
  /** The element's own text (its character data outside children), entities resolved. */
  text: string;
}

const ENTITIES: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };

function unescape(text: string): string {
  return text.replace(/&(#x[0-9A-Fa-f]+|#[0-9]+|[a-z]+);|&/g, (all, ref: string | undefined) => {
    if (ref === undefined) throw new Error('a bare "&" in XML text');
    if (ref.startsWith('#')) {
      const code = ref[1] === 'x' ? parseInt(ref.slice(2), 16) : parseInt(ref.slice(1), 10);
      if (!(code >= 0 && code <= 0x10ffff)) throw new Error(`the character reference ${all} is out of range`);
      return String.fromCodePoint(code);
    }
    const e = ENTITIES[ref];
    if (e === undefined) throw new Error(`the entity ${all} is not one of XML's five`);
    return e;
  });
}

const NAME = /^[A-Za-z_][A-Za-z0-9_.:-]*/;

/** The document element of `text`. Throws on anything outside the subset described above. */
export function parseXml(text: string): XmlElement {
  let i = 0;
  const stack: XmlElement[] = [];
  let root: XmlElement | undefined;
  if (text.startsWith('<?xml')) {
    const end = text.indexOf('?>');
    if (end < 0) throw new Error('an unterminated XML declaration');
    i = end + 2;
  }
  while (i < text.length) {
    const lt = text.indexOf('<', i);
    const chunk = text.slice(i, lt < 0 ? text.length : lt);
    if (stack.length) stack[stack.length - 1]!.text += unescape(chunk);
    else if (chunk.trim() !== '') throw new Error('text outside the document element');
    if (lt < 0) break;
    const gt = text.indexOf('>', lt);
    if (gt < 0) throw new Error('an unterminated tag');
    const tag = text.slice(lt + 1, gt);
    i = gt + 1;
    if (tag.startsWith('/')) {
      const open = stack.pop();
      if (!open || open.name !== tag.slice(1).trim()) throw new Error(`a closing tag </${tag.slice(1)}> that closes nothing open`);
      continue;
    }
    const name = NAME.exec(tag)?.[0];
    if (name === undefined) throw new Error(`an unsupported construct <${tag.slice(0, 20)}`);
    const selfClosing = tag.endsWith('/');
    const attrs = tag.slice(name.length, selfClosing ? -1 : undefined);
    if (!/^(\s+[A-Za-z_][A-Za-z0-9_.:-]*\s*=\s*("[^"<]*"|'[^'<]*'))*\s*$/.test(attrs)) throw new Error(`malformed attributes in <${name}>`);
    const el: XmlElement = { name, children: [], text: '' };
    if (stack.length) stack[stack.length - 1]!.children.push(el);
    else if (root) throw new Error('more than one document element');
    else root = el;
    if (!selfClosing) stack.push(el);
  }
  if (stack.length || !root) throw new Error('the XML document is incomplete');
  return root;
}

/** The first child of `el` named `name`. */
export function child(el: XmlElement | undefined, name: string): XmlElement | undefined {
  return el?.children.find((c) => c.name === name);
}

/** The text of the child of `el` named `name`, or undefined without one. */
export function childText(el: XmlElement | undefined, name: string): string | undefined {
  return child(el, name)?.text;
}

/** The entries of a list element (`<member>` in IAM's answers, `<item>` in EC2's). */
export function entries(el: XmlElement | undefined, entry: 'member' | 'item'): XmlElement[] {
  return el ? el.children.filter((c) => c.name === entry) : [];
}

/** `text` safe as XML character data (control characters XML 1.0 cannot carry become spaces). */
export function escapeXml(text: string): string {
  return text.replace(/[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]/g, ' ').replace(/[&<>"']/g, (c) => `&${Object.keys(ENTITIES).find((k) => ENTITIES[k] === c)};`);
}
