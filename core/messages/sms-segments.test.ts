import { describe, expect, it } from 'vitest';
import { countSmsSegments } from './sms-segments.js';

describe('SMS segments', () => {
  it('plain English fits 160 GSM-7 characters in one segment, 161 takes two of 153', () => {
    expect(countSmsSegments('a'.repeat(160))).toMatchObject({ encoding: 'GSM-7', units: 160, segments: 1, perSegment: 160, remainingInLastSegment: 0 });
    expect(countSmsSegments('a'.repeat(161))).toMatchObject({ encoding: 'GSM-7', segments: 2, perSegment: 153, remainingInLastSegment: 145 });
    expect(countSmsSegments('a'.repeat(306))).toMatchObject({ segments: 2, remainingInLastSegment: 0 });
    expect(countSmsSegments('a'.repeat(307))).toMatchObject({ segments: 3 });
  });

  it('extension-table characters count two septets and do not force UCS-2', () => {
    const text = `Pay €${'9'.repeat(10)} [ref]`;
    const result = countSmsSegments(text);
    expect(result.encoding).toBe('GSM-7');
    expect(result.characters).toBe(text.length);
    expect(result.units).toBe(text.length + 3);
    expect(countSmsSegments('€'.repeat(80))).toMatchObject({ units: 160, segments: 1 });
    expect(countSmsSegments('€'.repeat(81))).toMatchObject({ units: 162, segments: 2 });
  });

  it('an escaped character is not split across segments', () => {
    // 152 plain septets leave one free septet in the first part: the euro sign moves whole.
    const result = countSmsSegments(`${'a'.repeat(152)}€${'a'.repeat(10)}`);
    expect(result).toMatchObject({ units: 164, segments: 2, remainingInLastSegment: 153 - 12 });
  });

  it('Chinese is UCS-2: 70 characters in one segment, then 67 a segment', () => {
    expect(countSmsSegments('您'.repeat(70))).toMatchObject({ encoding: 'UCS-2', units: 70, segments: 1, perSegment: 70 });
    expect(countSmsSegments('您'.repeat(71))).toMatchObject({ encoding: 'UCS-2', segments: 2, perSegment: 67 });
    expect(countSmsSegments('您'.repeat(134))).toMatchObject({ segments: 2, remainingInLastSegment: 0 });
    expect(countSmsSegments('您'.repeat(135))).toMatchObject({ segments: 3 });
  });

  it('one non-GSM character switches the whole text to UCS-2 and is named', () => {
    const result = countSmsSegments(`Your card ending 1234 was charged ${'x'.repeat(40)} “today”`);
    expect(result.encoding).toBe('UCS-2');
    expect(result.nonGsmCharacters).toEqual(['“', '”']);
    expect(result.segments).toBe(2);
  });

  it('an emoji takes two UTF-16 units and is never split', () => {
    const result = countSmsSegments(`${'a'.repeat(66)}😀`);
    expect(result).toMatchObject({ encoding: 'UCS-2', characters: 67, units: 68, segments: 1 });
    expect(countSmsSegments(`${'a'.repeat(66)}😀${'a'.repeat(3)}`)).toMatchObject({ units: 71, segments: 2, remainingInLastSegment: 67 - 5 });
  });

  it('an empty draft takes no segment', () => {
    expect(countSmsSegments('')).toMatchObject({ encoding: 'GSM-7', segments: 0, units: 0 });
  });
});
