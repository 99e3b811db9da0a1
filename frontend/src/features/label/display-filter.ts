/**
 * Brightness and contrast for looking into dark images (night scenes). Applied as
 * a CSS filter on the displayed <img> only: the stored image and the boxes'
 * coordinates never change.
 */

export interface DisplayAdjust {
  /** Percent, 100 = unchanged. */
  brightness: number;
  /** Percent, 100 = unchanged. */
  contrast: number;
}

export const NEUTRAL_DISPLAY: DisplayAdjust = { brightness: 100, contrast: 100 };
export const BRIGHTNESS_RANGE = { min: 50, max: 300, step: 10 } as const;
export const CONTRAST_RANGE = { min: 50, max: 200, step: 10 } as const;

export function isNeutral(adjust: DisplayAdjust): boolean {
  return adjust.brightness === 100 && adjust.contrast === 100;
}

/** The CSS filter, or undefined when nothing is adjusted (so the browser keeps its fast path). */
export function displayFilter(adjust: DisplayAdjust): string | undefined {
  if (isNeutral(adjust)) return undefined;
  return `brightness(${adjust.brightness}%) contrast(${adjust.contrast}%)`;
}
