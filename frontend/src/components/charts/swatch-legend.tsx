import { edgeColor } from "../class-color";

/** A legend in dark text with framed swatches: recharts' own writes each name in its series'
 * colour, and a white or pale class (white_envelope) then vanishes on the white page. */
export function SwatchLegend({ items, testId }: { items: { name: string; color: string }[]; testId?: string }) {
  return (
    <ul className="swatch-legend" data-testid={testId}>
      {items.map((item) => (
        <li key={item.name}>
          <span className="swatch-legend-swatch" style={{ background: item.color, borderColor: edgeColor(item.color) }} aria-hidden="true" />
          {item.name}
        </li>
      ))}
    </ul>
  );
}
