// SMS length as the network counts it (docs/templates.md "SMS length"; the server's SmsSegments.Measure is the
// reference — the preview shows its numbers for the rendered text; this gives a live estimate while typing).

const GSM_BASIC =
  "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà";
const GSM_EXT = "^{}\\[~]|€\f";

export interface SmsMeasure {
  encoding: "GSM-7" | "UCS-2";
  length: number;
  segments: number;
}

export function measureSms(text: string): SmsMeasure {
  const chars = [...text];
  const gsm = chars.every((c) => GSM_BASIC.includes(c) || GSM_EXT.includes(c));
  if (gsm) {
    const units = chars.map((c) => (GSM_EXT.includes(c) ? 2 : 1));
    const length = units.reduce((a, b) => a + b, 0);
    return { encoding: "GSM-7", length, segments: split(units, 160, 153) };
  }
  // UCS-2: UTF-16 code units; a surrogate pair (emoji) is never split across parts.
  const units = chars.map((c) => c.length);
  const length = units.reduce((a, b) => a + b, 0);
  return { encoding: "UCS-2", length, segments: split(units, 70, 67) };
}

function split(units: number[], single: number, part: number): number {
  const total = units.reduce((a, b) => a + b, 0);
  if (total === 0) return 0;
  if (total <= single) return 1;
  let parts = 1;
  let used = 0;
  for (const u of units) {
    if (used + u > part) {
      parts++;
      used = 0;
    }
    used += u;
  }
  return parts;
}
