/**
 * WeChat message XML: a flat <xml> root whose children are the message fields.
 *
 * Nested children (e.g. <ScanCodeInfo>, <SendPicsInfo>, <SendLocationInfo>) are
 * returned as JSON strings of their parsed structure rather than dropped, so event
 * handlers can still read them with JSON.parse without the parser knowing every
 * event type.
 */
import { XMLParser, XMLValidator } from 'fast-xml-parser';

export type WechatXmlErrorCode = 'too_large' | 'doctype' | 'malformed' | 'no_xml_root' | 'invalid_field';

export class WechatXmlError extends Error {
  override readonly name = 'WechatXmlError';

  // The code lets the HTTP layer map failures (e.g. too_large → 413) without parsing messages.
  constructor(
    readonly code: WechatXmlErrorCode,
    message: string,
  ) {
    super(message);
  }
}

// A DTD is the only way to declare entities, so refusing it up front closes XXE and
// entity-expansion bombs before the parser sees a byte.
const DTD_DECLARATION = /<!(?:DOCTYPE|ENTITY)/i;
const ELEMENT_NAME = /^[A-Za-z_][A-Za-z0-9_.-]*$/;

const parser = new XMLParser({
  processEntities: false,
  // 19-digit MsgIds exceed Number.MAX_SAFE_INTEGER; every value stays a string.
  parseTagValue: false,
  ignoreAttributes: true,
  ignoreDeclaration: true,
  ignorePiTags: true,
});

export function parseWechatXml(body: string | Buffer, { maxBytes }: { maxBytes: number }): Record<string, string> {
  // A string's UTF-8 size is never below its UTF-16 length, so huge strings are refused without an O(n) byte count.
  const tooLarge =
    typeof body === 'string' ? body.length > maxBytes || Buffer.byteLength(body) > maxBytes : body.length > maxBytes;
  if (tooLarge) throw new WechatXmlError('too_large', `XML body exceeds ${maxBytes} bytes`);

  const text = typeof body === 'string' ? body : body.toString('utf8');
  if (DTD_DECLARATION.test(text)) throw new WechatXmlError('doctype', 'XML with DOCTYPE or ENTITY declarations is refused');

  // The parser itself is lenient (it accepts mismatched and unclosed tags), so well-formedness is checked separately.
  const validation = XMLValidator.validate(text);
  if (validation !== true) {
    throw new WechatXmlError('malformed', `XML is not well-formed: ${validation.err.msg} (line ${validation.err.line})`);
  }

  const document = parseDocument(text);
  const root = document['xml'];
  if (Object.keys(document).length !== 1 || root === undefined || Array.isArray(root)) {
    throw new WechatXmlError('no_xml_root', 'expected a single <xml> root element');
  }
  // Null prototype so absent fields such as "toString" read as undefined, not as inherited functions.
  const fields: Record<string, string> = Object.create(null);
  // An empty or text-only root parses to a string and has no fields.
  if (typeof root !== 'object' || root === null) return fields;

  for (const [name, value] of Object.entries(root)) {
    // Stray text between fields (the parser's "#text") is not a field.
    if (name === '#text') continue;
    // Two <Encrypt> or <ToUserName> elements would make it ambiguous which one was signed or routed.
    if (Array.isArray(value)) throw new WechatXmlError('malformed', `duplicate <${name}> element`);
    fields[name] = typeof value === 'string' ? value : JSON.stringify(value);
  }
  return fields;
}

function parseDocument(text: string): Record<string, unknown> {
  try {
    return parser.parse(text) as Record<string, unknown>;
  } catch (error) {
    // The parser throws plain Errors, e.g. for element names such as "__proto__" or "constructor".
    throw new WechatXmlError('malformed', `XML could not be parsed: ${(error as Error).message}`);
  }
}

export function buildWechatXml(fields: Record<string, string | number>): string {
  const children = Object.entries(fields).map(([name, value]) => {
    if (!ELEMENT_NAME.test(name)) throw new WechatXmlError('invalid_field', `invalid element name: ${JSON.stringify(name)}`);
    if (typeof value === 'number' && !Number.isFinite(value)) {
      throw new WechatXmlError('invalid_field', `<${name}> must be a finite number`);
    }
    return `<${name}>${typeof value === 'number' ? value : cdata(value)}</${name}>`;
  });
  return `<xml>${children.join('')}</xml>`;
}

// "]]>" cannot occur inside CDATA, so close the section between "]]" and ">" and open a new one.
function cdata(value: string): string {
  return `<![CDATA[${value.replaceAll(']]>', ']]]]><![CDATA[>')}]]>`;
}
