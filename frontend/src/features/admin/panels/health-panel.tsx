import { useQuery } from "@tanstack/react-query";
import { isNotAvailable } from "../../../api/client";
import { ErrorMessage } from "../../../components/error-message";
import { NotAvailable, Panel } from "../../../components/panel";
import { healthQuery } from "../api";
import { gridMax, readHealth, type NamedGrid, type NamedHistogram } from "../health-data";

function Bars({ items, testId }: { items: { label: string; count: number }[]; testId?: string }) {
  const max = Math.max(1, ...items.map((i) => i.count));
  return (
    <ul className="hbars" data-testid={testId}>
      {items.map((item) => (
        <li key={item.label}>
          <span className="hbar-label" title={item.label}>
            {item.label}
          </span>
          <span className="hbar-track">
            <span className="hbar-fill" style={{ width: `${(item.count / max) * 100}%` }} />
          </span>
          <span className="hbar-value">{item.count}</span>
        </li>
      ))}
    </ul>
  );
}

function Heatmap({ heatmap }: { heatmap: NamedGrid }) {
  const max = gridMax(heatmap.grid) || 1;
  const cols = Math.max(...heatmap.grid.map((r) => r.length));
  return (
    <figure className="heatmap">
      <div className="heatmap-grid" style={{ gridTemplateColumns: `repeat(${cols}, 1fr)` }}>
        {heatmap.grid.flatMap((row, y) =>
          row.map((v, x) => (
            <span
              key={`${x}-${y}`}
              className="heatmap-cell"
              style={{ backgroundColor: `rgba(37, 99, 235, ${(0.05 + 0.95 * (v / max)).toFixed(3)})` }}
              title={`${v}`}
            />
          )),
        )}
      </div>
      <figcaption>{heatmap.name}</figcaption>
    </figure>
  );
}

function Histogram({ histogram }: { histogram: NamedHistogram }) {
  const max = Math.max(1, ...histogram.bins.map((b) => b.count));
  return (
    <figure className="histogram">
      <div className="histogram-bars">
        {histogram.bins.map((bin, i) => (
          <span key={i} className="histogram-bar" style={{ height: `${(bin.count / max) * 100}%` }} title={`${bin.label}: ${bin.count}`} />
        ))}
      </div>
      <div className="histogram-axis small muted">
        <span>{histogram.bins[0]?.label}</span>
        <span>{histogram.bins[histogram.bins.length - 1]?.label}</span>
      </div>
      <figcaption>{histogram.name}</figcaption>
    </figure>
  );
}

export function HealthPanel({ projectId }: { projectId: number }) {
  const health = useQuery(healthQuery(projectId));
  let body;
  if (health.isPending) body = <p className="muted">Loading…</p>;
  else if (health.isError) {
    body = isNotAvailable(health.error) ? <NotAvailable what="The health check" /> : <ErrorMessage error={health.error} />;
  } else {
    const { classCounts: counts, heatmaps, histograms, recommendations, facts } = readHealth(health.data);
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
          {counts.length ? <Bars items={counts} testId="class-balance" /> : <p className="muted">No labels yet.</p>}
        </div>
        {heatmaps.length ? (
          <div className="health-section">
            <h3>Box positions</h3>
            <div className="figure-row">
              {heatmaps.map((h) => (
                <Heatmap key={h.name} heatmap={h} />
              ))}
            </div>
          </div>
        ) : null}
        {histograms.length ? (
          <div className="health-section">
            <h3>Box sizes</h3>
            <div className="figure-row">
              {histograms.filter((h) => h.bins.some((b) => b.count > 0)).map((h) => (
                <Histogram key={h.name} histogram={h} />
              ))}
            </div>
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
