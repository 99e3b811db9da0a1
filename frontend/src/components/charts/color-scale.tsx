import "./charts.css";

const HIGH = [37, 99, 235]; // the primary blue
const LOW = [248, 250, 252]; // near white

/** Sequential, opaque colour for a value in [0, max]: near white to the primary blue (cells and scale match). */
export function heatColor(value: number, max: number): string {
  const t = max > 0 ? Math.min(1, Math.max(0, value / max)) : 0;
  const [r, g, b] = LOW.map((low, i) => Math.round(low + (HIGH[i]! - low) * t));
  return `rgb(${r}, ${g}, ${b})`;
}

/** The key to a heatmap's colours: a gradient bar from 0 to `max` with the unit. */
export function ColorScale({ max, unit }: { max: number; unit: string }) {
  if (max <= 0) return null;
  const mid = max / 2;
  return (
    <div className="color-scale" data-testid="color-scale" aria-label={`Colour scale: 0 to ${max} ${unit}`}>
      <div
        className="color-scale-bar"
        style={{ background: `linear-gradient(to right, ${heatColor(0, 1)}, ${heatColor(1, 1)})` }}
      />
      <div className="color-scale-ticks">
        <span>0</span>
        {Number.isInteger(mid) && mid > 0 && mid < max ? <span>{mid}</span> : null}
        <span>{max}</span>
      </div>
      <div className="color-scale-unit">{unit}</div>
    </div>
  );
}
