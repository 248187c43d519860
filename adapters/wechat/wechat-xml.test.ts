import { describe, expect, it } from 'vitest';
import { WechatXmlError, buildWechatXml, parseWechatXml } from './wechat-xml.js';

const LIMIT = { maxBytes: 64 * 1024 };

const TEXT_MESSAGE = `<xml>
  <ToUserName><![CDATA[gh_3f2a1b4c5d6e]]></ToUserName>
  <FromUserName><![CDATA[oUpF8uMuAJO_M2pxb1Q9zNjWeS6o]]></FromUserName>
  <CreateTime>1700000000</CreateTime>
  <MsgType><![CDATA[text]]></MsgType>
  <Content><![CDATA[你好，我想查询一下我的信用卡账单]]></Content>
  <MsgId>1234567890123456789</MsgId>
</xml>`;

function expectXmlError(run: () => unknown, code: WechatXmlError['code']): void {
  let caught: unknown;
  try {
    run();
  } catch (error) {
    caught = error;
  }
  expect(caught).toBeInstanceOf(WechatXmlError);
  expect((caught as WechatXmlError).code).toBe(code);
}

function elapsedMs(run: () => void): number {
  const start = performance.now();
  run();
  return performance.now() - start;
}

describe('parseWechatXml', () => {
  it('parses a WeChat text message with Chinese content and a 19-digit MsgId', () => {
    expect(parseWechatXml(TEXT_MESSAGE, LIMIT)).toEqual({
      ToUserName: 'gh_3f2a1b4c5d6e',
      FromUserName: 'oUpF8uMuAJO_M2pxb1Q9zNjWeS6o',
      CreateTime: '1700000000',
      MsgType: 'text',
      Content: '你好，我想查询一下我的信用卡账单',
      MsgId: '1234567890123456789',
    });
  });

  it('accepts a Buffer body and an XML declaration', () => {
    const body = Buffer.from(`<?xml version="1.0" encoding="UTF-8"?>\n${TEXT_MESSAGE}`);
    expect(parseWechatXml(body, LIMIT)['Content']).toBe('你好，我想查询一下我的信用卡账单');
  });

  it('keeps whitespace inside CDATA', () => {
    expect(parseWechatXml('<xml><Content><![CDATA[  padded \n]]></Content></xml>', LIMIT)).toEqual({
      Content: '  padded \n',
    });
  });

  it('returns nested elements as JSON strings', () => {
    const event = `<xml>
      <Event><![CDATA[scancode_waitmsg]]></Event>
      <ScanCodeInfo>
        <ScanType><![CDATA[qrcode]]></ScanType>
        <ScanResult><![CDATA[https://example.com/a]]></ScanResult>
      </ScanCodeInfo>
    </xml>`;
    const fields = parseWechatXml(event, LIMIT);
    expect(fields['Event']).toBe('scancode_waitmsg');
    expect(JSON.parse(fields['ScanCodeInfo'] ?? '')).toEqual({ ScanType: 'qrcode', ScanResult: 'https://example.com/a' });
  });

  it('ignores stray text between fields', () => {
    expect(parseWechatXml('<xml>junk<A>1</A></xml>', LIMIT)).toEqual({ A: '1' });
  });

  it('returns no fields for an empty root', () => {
    expect(parseWechatXml('<xml/>', LIMIT)).toEqual({});
  });

  it('does not expose inherited Object.prototype members as fields', () => {
    const fields = parseWechatXml(TEXT_MESSAGE, LIMIT);
    expect(fields['toString']).toBeUndefined();
    expect(fields['constructor']).toBeUndefined();
  });

  it.each(['__proto__', 'constructor', 'prototype'])('rejects a <%s> element as malformed', (name) => {
    expectXmlError(() => parseWechatXml(`<xml><${name}>x</${name}></xml>`, LIMIT), 'malformed');
  });

  it('rejects an XXE payload', () => {
    const xxe = `<?xml version="1.0"?>
<!DOCTYPE xml [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<xml><Content>&xxe;</Content></xml>`;
    expectXmlError(() => parseWechatXml(xxe, LIMIT), 'doctype');
  });

  it('rejects DOCTYPE and ENTITY declarations regardless of case', () => {
    expectXmlError(() => parseWechatXml('<!doctype xml><xml/>', LIMIT), 'doctype');
    expectXmlError(() => parseWechatXml('<xml><!Entity x "y"></xml>', LIMIT), 'doctype');
  });

  it('rejects a billion-laughs payload in under 50 ms', () => {
    const entities = Array.from({ length: 9 }, (_, i) => `<!ENTITY lol${i + 1} "${`&lol${i};`.repeat(10)}">`).join('\n');
    const bomb = `<?xml version="1.0"?>
<!DOCTYPE lolz [
  <!ENTITY lol0 "lol">
  ${entities}
]>
<xml><Content>&lol9;</Content></xml>`;
    expect(elapsedMs(() => expectXmlError(() => parseWechatXml(bomb, LIMIT), 'doctype'))).toBeLessThan(50);
  });

  it('rejects a 10 MB body in under 50 ms, as string or Buffer', () => {
    const huge = `<xml><Content><![CDATA[${'a'.repeat(10 * 1024 * 1024)}]]></Content></xml>`;
    const hugeBuffer = Buffer.from(huge);
    expect(elapsedMs(() => expectXmlError(() => parseWechatXml(huge, LIMIT), 'too_large'))).toBeLessThan(50);
    expect(elapsedMs(() => expectXmlError(() => parseWechatXml(hugeBuffer, LIMIT), 'too_large'))).toBeLessThan(50);
  });

  it('measures the limit in UTF-8 bytes', () => {
    const body = '<xml><C>你</C></xml>'; // 19 characters, 21 bytes
    expect(parseWechatXml(body, { maxBytes: 21 })).toEqual({ C: '你' });
    expectXmlError(() => parseWechatXml(body, { maxBytes: 20 }), 'too_large');
    expectXmlError(() => parseWechatXml(Buffer.from(body), { maxBytes: 20 }), 'too_large');
  });

  it.each([
    ['a mismatched closing tag', '<xml><A>1</B></xml>'],
    ['an unclosed root', '<xml><A>1</A>'],
    ['plain text', 'hello'],
    ['an empty body', ''],
    ['duplicate fields', '<xml><Encrypt>a</Encrypt><Encrypt>b</Encrypt></xml>'],
    ['two <xml> roots', '<xml><A>1</A></xml><xml><A>2</A></xml>'],
  ])('rejects malformed XML: %s', (_label, body) => {
    expectXmlError(() => parseWechatXml(body, LIMIT), 'malformed');
  });

  it.each([
    ['another root element', '<message><A>1</A></message>'],
    ['two empty <xml> roots', '<xml/><xml/>'],
    ['an extra root beside <xml>', '<xml><A>1</A></xml><other/>'],
  ])('rejects %s', (_label, body) => {
    expectXmlError(() => parseWechatXml(body, LIMIT), 'no_xml_root');
  });
});

describe('buildWechatXml', () => {
  it('wraps strings in CDATA and leaves numbers bare', () => {
    expect(buildWechatXml({ ToUserName: 'user', CreateTime: 1700000000, MsgType: 'text' })).toBe(
      '<xml><ToUserName><![CDATA[user]]></ToUserName><CreateTime>1700000000</CreateTime><MsgType><![CDATA[text]]></MsgType></xml>',
    );
  });

  it('builds the encrypted envelope', () => {
    const envelope = buildWechatXml({ Encrypt: 'b64+/=', MsgSignature: 'abc', TimeStamp: 1409304348, Nonce: 'xxxxxx' });
    expect(envelope).toBe(
      '<xml><Encrypt><![CDATA[b64+/=]]></Encrypt><MsgSignature><![CDATA[abc]]></MsgSignature>' +
        '<TimeStamp>1409304348</TimeStamp><Nonce><![CDATA[xxxxxx]]></Nonce></xml>',
    );
  });

  it('round-trips through parseWechatXml, including "]]>" and markup inside values', () => {
    const fields = {
      ToUserName: 'oUpF8uMuAJO_M2pxb1Q9zNjWeS6o',
      FromUserName: 'gh_3f2a1b4c5d6e',
      CreateTime: 1700000000,
      MsgType: 'text',
      Content: 'a]]>b ]]]]> <xml>&amp; 中文 ]]>',
      Empty: '',
    };
    expect(parseWechatXml(buildWechatXml(fields), LIMIT)).toEqual({ ...fields, CreateTime: '1700000000' });
  });

  it('rejects element names that would inject markup', () => {
    expectXmlError(() => buildWechatXml({ 'A><B': 'x' }), 'invalid_field');
    expectXmlError(() => buildWechatXml({ '': 'x' }), 'invalid_field');
  });

  it('rejects non-finite numbers', () => {
    expectXmlError(() => buildWechatXml({ CreateTime: Number.NaN }), 'invalid_field');
  });
});
