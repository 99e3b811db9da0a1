import { useQuery } from "@tanstack/react-query";
import { useState } from "react";
import { Bar, BarChart, CartesianGrid, ResponsiveContainer, Tooltip, XAxis, YAxis } from "recharts";
import { isNotAvailable } from "../../../api/client";
import { AXIS_LABEL, GRID_STROKE, seriesColor, TICK } from "../../../components/charts/chart-style";
import { ColorScale, heatColor } from "../../../components/charts/color-scale";
import { formatCount } from "../../../components/charts/format";
import { SwatchLegend } from "../../../components/charts/swatch-legend";
import { edgeColor } from "../../../components/class-color";
import { ErrorMessage } from "../../../components/error-message";
import { NotAvailable, Panel } from "../../../components/panel";
import { useClasses } from "../../projects";
import { healthQuery } from "../api";
import { gridMax, histogramRows, readHealth, type NamedGrid } from "../health-data";

function Bars({ items, unit, testId }: { items: { label: string; count: number }[]; unit: string; testId?: string }) {
  const max = Math.max(1, ...items.map((i) => i.count));
  return (
    <ul className="hbars" data-testid={testId} aria-label={unit}>
      {items.map((item) => (
        <li key={item.label} title={`${item.label}: ${formatCount(item.count)} ${unit}`}>
          <span className="hbar-label" title={item.label}>
            {item.label}
          </span>
          <span className="hbar-track">
            <span className="hbar-fill" style={{ width: `${(item.count / max) * 100}%` }} />
          </span>
          <span className="hbar-value">{formatCount(item.count)}</span>
        </li>
      ))}
    </ul>
  );
}

/** Box centres over the image, one cell per grid square; hovering (or tapping) a cell reads its count. */
function Heatmap({ heatmap }: { heatmap: NamedGrid }) {
  const [hover, setHover] = useState<{ x: number; y: number; v: number } | null>(null);
  const max = gridMax(heatmap.grid);
  const rows = heatmap.grid.length;
  const cols = Math.max(...heatmap.grid.map((r) => r.length));
  const cellText = (x: number, y: number, v: number) =>
    `column ${x + 1} of ${cols}, row ${y + 1} of ${rows}: ${formatCount(v)} box centre${v === 1 ? "" : "s"}`;
  return (
    <figure className="heatmap" data-testid="heatmap">
      <figcaption className="heatmap-title">{heatmap.name}</figcaption>
      <div className="heatmap-axes">
        <span className="heatmap-y-label">top → bottom</span>
        <div
          className="heatmap-grid"
          style={{ gridTemplateColumns: `repeat(${cols}, 1fr)` }}
          onMouseLeave={() => setHover(null)}
          role="img"
          aria-label={`Box centres of ${heatmap.name}, ${cols}×${rows} grid, at most ${max} per cell`}
        >
          {heatmap.grid.flatMap((row, y) =>
            row.map((v, x) => (
              <span
                key={`${x}-${y}`}
                className="heatmap-cell"
                style={{ backgroundColor: heatColor(v, max) }}
                title={cellText(x, y, v)}
                data-value={v}
                onMouseEnter={() => setHover({ x, y, v })}
                onClick={() => setHover({ x, y, v })}
              />
            )),
          )}
        </div>
        <span className="heatmap-x-label">left → right</span>
      </div>
      {max > 0 ? (
        <>
          <ColorScale max={max} unit="box centres per cell" />
          <p className="heatmap-readout small" aria-live="polite">
            {hover ? cellText(hover.x, hover.y, hover.v) : "Hover a cell for its count"}
          </p>
        </>
      ) : (
        <p className="heatmap-readout small">No boxes of this class yet.</p>
      )}
    </figure>
  );
}

export function HealthPanel({ projectId }: { projectId: number }) {
  const health = useQuery(healthQuery(projectId));
  const classes = useClasses(projectId);
  let body;
  if (health.isPending) body = <p className="muted">Loading…</p>;
  else if (health.isError) {
    body = isNotAvailable(health.error) ? <NotAvailable what="The health check" /> : <ErrorMessage error={health.error} />;
  } else {
    const { classCounts: counts, heatmaps, histograms, recommendations, facts } = readHealth(health.data);
    const detection = health.data.task !== "classification";
    const colorOf = (name: string, i: number) => classes.data?.find((c) => c.name === name)?.color ?? seriesColor(name, i);
    const sizes = histograms.filter((h) => h.bins.some((b) => b.count > 0));
    const sizeRows = histogramRows(sizes);
    body = (
      <div className="health" data-testid="health">
        {facts.length ? (
          <dl className="summary summary-flat health-facts">
            {facts.map((f) => (
              <div key={f.label}>
                <dt>{f.label}</dt>
                <dd>{f.value}</dd>
              </div>
            ))}
          </dl>
        ) : null}
        <div className="health-section">
          <h3>Class balance</h3>
          <p className="muted small chart-note">{detection ? "Boxes per class" : "Labeled images per class"}</p>
          {counts.length ? (
            <Bars items={counts} unit={detection ? "boxes" : "images"} testId="class-balance" />
          ) : (
            <p className="muted">No labels yet.</p>
          )}
        </div>
        {heatmaps.length ? (
          <div className="health-section">
            <h3>Box positions</h3>
            <p className="muted small chart-note">Where box centres fall in the image, per class.</p>
            <div className="figure-row">
              {heatmaps.map((h) => (
                <Heatmap key={h.name} heatmap={h} />
              ))}
            </div>
          </div>
        ) : null}
        {sizes.length ? (
          <div className="health-section health-section-wide" data-testid="box-sizes">
            <h3>Box sizes</h3>
            <SwatchLegend items={sizes.map((h, i) => ({ name: h.name, color: colorOf(h.name, i) }))} testId="box-sizes-legend" />
            <ResponsiveContainer width="100%" height={240}>
              <BarChart data={sizeRows} margin={{ top: 8, right: 16, bottom: 8, left: 8 }}>
                <CartesianGrid stroke={GRID_STROKE} vertical={false} />
                <XAxis
                  dataKey="bin"
                  tick={TICK}
                  height={44}
                  label={{ value: "box size: √(box area ÷ image area)", position: "insideBottom", offset: -4, ...AXIS_LABEL }}
                />
                <YAxis
                  allowDecimals={false}
                  tick={TICK}
                  width={56}
                  label={{ value: "boxes", angle: -90, position: "insideLeft", offset: 8, ...AXIS_LABEL }}
                />
                <Tooltip
                  formatter={(v) => (typeof v === "number" ? `${formatCount(v)} boxes` : String(v))}
                  itemStyle={{ color: "#0f172a" }}
                />
                {sizes.map((h, i) => (
                  <Bar
                    key={h.name}
                    dataKey={`c${i}`}
                    name={h.name}
                    fill={colorOf(h.name, i)}
                    stroke={edgeColor(colorOf(h.name, i))}
                    isAnimationActive={false}
                  />
                ))}
              </BarChart>
            </ResponsiveContainer>
          </div>
        ) : null}
        <div className="health-section">
          <h3>Recommendations</h3>
          {recommendations.length ? (
            <ul className="recommendations" data-testid="recommendations">
              {recommendations.map((r, i) => (
                <li key={`${r.code}-${i}`}>
                  <span className={`badge badge-severity-${r.severity ?? "low"}`}>{r.code.replaceAll("_", " ")}</span>{" "}
                  {r.message}
                </li>
              ))}
            </ul>
          ) : (
            <p className="muted">Nothing to fix right now.</p>
          )}
        </div>
      </div>
    );
  }
  return (
    <Panel title="Health check" className="panel-wide" testId="health-panel">
      {body}
    </Panel>
  );
}
