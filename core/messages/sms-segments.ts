import { z } from 'zod';

export const smsDraftInput = z.object({ text: z.string().max(20_000) });

/** The GSM 03.38 default alphabet: one septet each. */
const gsmBasic = new Set(
  '@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !"#¤%&\'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà',
);
/** The extension table: an escape septet plus one, so two septets each. */
const gsmExtension = new Set('^{}\\[~]|€\f');

export type SmsEncoding = 'GSM-7' | 'UCS-2';

export interface SmsSegmentCount {
  encoding: SmsEncoding;
  /** Characters as a reader counts them (code points). */
  characters: number;
  /** Septets (GSM-7) or UTF-16 code units (UCS-2) the text takes. */
  units: number;
  segments: number;
  /** Units one segment holds: 160/70 for a single message, 153/67 once a header joins the parts. */
  perSegment: number;
  /** Units still free in the last segment before another one is billed. */
  remainingInLastSegment: number;
  /** The characters that force UCS-2, so a marketer can replace them (at most 20, each once). */
  nonGsmCharacters: string[];
}

const limits: Record<SmsEncoding, { single: number; part: number }> = {
  'GSM-7': { single: 160, part: 153 },
  'UCS-2': { single: 70, part: 67 },
};

/**
 * How a text travels as SMS and how many segments (billed messages) it takes. A character never
 * straddles two segments (an escaped GSM character or a UTF-16 surrogate pair moves whole into
 * the next), which is why the count can exceed units / per-segment rounded up.
 */
export function countSmsSegments(text: string): SmsSegmentCount {
  const characters = Array.from(text);
  const nonGsm = characters.filter((c) => !gsmBasic.has(c) && !gsmExtension.has(c));
  const encoding: SmsEncoding = nonGsm.length ? 'UCS-2' : 'GSM-7';
  const widths = characters.map((c) => (encoding === 'UCS-2' ? c.length : gsmExtension.has(c) ? 2 : 1));
  const units = widths.reduce((sum, w) => sum + w, 0);
  const limit = limits[encoding];
  const nonGsmCharacters = [...new Set(nonGsm)].slice(0, 20);
  if (units === 0) {
    return { encoding, characters: 0, units: 0, segments: 0, perSegment: limit.single, remainingInLastSegment: limit.single, nonGsmCharacters };
  }
  if (units <= limit.single) {
    return { encoding, characters: characters.length, units, segments: 1, perSegment: limit.single, remainingInLastSegment: limit.single - units, nonGsmCharacters };
  }
  let segments = 1;
  let used = 0;
  for (const width of widths) {
    if (used + width > limit.part) {
      segments += 1;
      used = 0;
    }
    used += width;
  }
  return { encoding, characters: characters.length, units, segments, perSegment: limit.part, remainingInLastSegment: limit.part - used, nonGsmCharacters };
}
