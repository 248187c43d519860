import { describe, expect, it } from 'vitest';
import { matchConsentKeyword } from './consent-keywords.js';

describe('consent keywords', () => {
  it.each(['STOP', 'stop', ' Stop ', 'STOPALL', 'unsubscribe', 'CANCEL', 'end', 'QUIT', '退订', 'td', 'Stop.', '退订。'])(
    '%j opts out',
    (text) => {
      expect(matchConsentKeyword(text)?.intent).toBe('opt_out');
    },
  );

  it.each(['START', 'yes', 'Unstop!'])('%j opts back in', (text) => {
    expect(matchConsentKeyword(text)?.intent).toBe('opt_in');
  });

  it('HELP asks for help and names the keyword in upper case', () => {
    expect(matchConsentKeyword(' help ')).toEqual({ keyword: 'HELP', intent: 'help' });
  });

  it.each(['please stop calling me at work', 'STOP IT', '我要退订信用卡账单', '', null, undefined, 'stopp'])('%j is an ordinary message', (text) => {
    expect(matchConsentKeyword(text)).toBeUndefined();
  });
});
