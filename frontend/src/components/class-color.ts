/**
 * Readable class colours. Classes may be any colour (white_envelope is near-white, yellow_box
 * pale): text drawn on a class colour takes black or white by contrast (WCAG 2 formulas), and a
 * light colour drawn on white or a light photo gets a darker edge so it does not vanish.
 */

const DARK_TEXT = "#111827";
const LIGHT_TEXT = "#ffffff";

function channels(hex: string): [number, number, number] | null {
  const match = /^#([0-9a-f]{2})([0-9a-f]{2})([0-9a-f]{2})$/i.exec(hex);
  return match ? [parseInt(match[1]!, 16), parseInt(match[2]!, 16), parseInt(match[3]!, 16)] : null;
}

/** WCAG relative luminance: 0 for black, 1 for white; null for a string that is not #rrggbb. */
export function luminance(hex: string): number | null {
  const rgb = channels(hex);
  if (!rgb) return null;
  const [r, g, b] = rgb.map((c) => {
    const s = c / 255;
    return s <= 0.04045 ? s / 12.92 : ((s + 0.055) / 1.055) ** 2.4;
  }) as [number, number, number];
  return 0.2126 * r + 0.7152 * g + 0.0722 * b;
}

function contrast(a: number, b: number): number {
  return (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);
}

/** Black or white, whichever contrasts more with `background` (white if it cannot be read). */
export function textColorOn(background: string): string {
  const l = luminance(background);
  if (l === null) return LIGHT_TEXT;
  return contrast(l, 1) >= contrast(l, luminance(DARK_TEXT)!) ? LIGHT_TEXT : DARK_TEXT;
}

/** Under 1.6:1 against white a colour reads as "no colour" (white, beige, pale yellow, pink). */
export function isLightColor(hex: string): boolean {
  const l = luminance(hex);
  return l !== null && contrast(l, 1) < 1.6;
}

/** An outline for `hex`: the colour itself, or for a light colour the same hue 45 % darker. */
export function edgeColor(hex: string): string {
  const rgb = channels(hex);
  if (!rgb || !isLightColor(hex)) return hex;
  return `#${rgb.map((c) => Math.round(c * 0.55).toString(16).padStart(2, "0")).join("")}`;
}
