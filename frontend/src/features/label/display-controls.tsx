import { BRIGHTNESS_RANGE, CONTRAST_RANGE, isNeutral, NEUTRAL_DISPLAY, type DisplayAdjust } from "./display-filter";

export function DisplayControls({ value, onChange }: { value: DisplayAdjust; onChange: (next: DisplayAdjust) => void }) {
  return (
    <div className="display-controls" data-testid="display-controls">
      <label className="field field-inline">
        <span>
          Brightness <strong>{value.brightness}%</strong>
        </span>
        <input
          type="range"
          {...BRIGHTNESS_RANGE}
          value={value.brightness}
          aria-label="Brightness"
          onChange={(e) => onChange({ ...value, brightness: Number(e.target.value) })}
        />
      </label>
      <label className="field field-inline">
        <span>
          Contrast <strong>{value.contrast}%</strong>
        </span>
        <input
          type="range"
          {...CONTRAST_RANGE}
          value={value.contrast}
          aria-label="Contrast"
          onChange={(e) => onChange({ ...value, contrast: Number(e.target.value) })}
        />
      </label>
      <button type="button" className="btn btn-small" disabled={isNeutral(value)} onClick={() => onChange(NEUTRAL_DISPLAY)}>
        Reset display
      </button>
    </div>
  );
}
