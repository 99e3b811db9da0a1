import { useQuery } from "@tanstack/react-query";
import { useState } from "react";
import { isNotAvailable } from "../../../api/client";
import type { ModelVersion } from "../../../api/types";
import { ErrorMessage } from "../../../components/error-message";
import { NotAvailable, Panel } from "../../../components/panel";
import { modelVersionsQuery } from "../api";
import { formatCount, metricName } from "../../../components/charts/format";
import { formatMetric, headlineMetric, metricRows, perClassTable, sampleOf, type EvaluationSample } from "../metrics";

function SampleNote({ label, sample }: { label: string; sample: EvaluationSample }) {
  if (sample.n === null) return null;
  return (
    <span>
      {label}: {formatCount(sample.n)} image{sample.n === 1 ? "" : "s"}
    </span>
  );
}

function ValueCell({ value, metric, sample }: { value: number | null; metric: string; sample: EvaluationSample | null }) {
  const interval = sample?.interval;
  return (
    <td className="num">
      {formatMetric(value, metric)}
      {interval ? (
        <span className="metric-interval" title="95% interval on the evaluation sample">
          {" "}
          [{interval.low.toFixed(3)}–{interval.high.toFixed(3)}]
        </span>
      ) : null}
    </td>
  );
}

function MetricsTable({ version }: { version: ModelVersion }) {
  const metrics = (version.metrics ?? {}) as { val?: unknown; test?: unknown };
  const rows = metricRows(metrics.val ?? {}, metrics.test ?? {});
  if (rows.length === 0) return <p className="muted">No metrics recorded for this version.</p>;
  const overall = rows.filter((r) => r.group === null);
  const perClass = perClassTable(rows);
  const headline = headlineMetric(metrics);
  const valSample = sampleOf(metrics.val);
  const testSample = sampleOf(metrics.test);
  return (
    <div className="metrics" data-testid="metrics-table">
      {valSample.n !== null || testSample.n !== null ? (
        <p className="muted small metrics-sample" data-testid="evaluation-sample">
          Evaluated on <SampleNote label="validation" sample={valSample} />
          {valSample.n !== null && testSample.n !== null ? " · " : ""}
          <SampleNote label="test" sample={testSample} />
          {valSample.interval || testSample.interval ? " · [brackets]: 95% interval" : ""}
        </p>
      ) : null}
      {overall.length ? (
        <div className="table-wrap">
          <table className="table table-compact">
            <thead>
              <tr>
                <th>Overall</th>
                <th className="num">Validation</th>
                <th className="num">Test</th>
              </tr>
            </thead>
            <tbody>
              {overall.map((row) => (
                <tr key={row.key}>
                  <td>{metricName(row.metric)}</td>
                  <ValueCell value={row.val} metric={row.metric} sample={row.metric === headline ? valSample : null} />
                  <ValueCell value={row.test} metric={row.metric} sample={row.metric === headline ? testSample : null} />
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      ) : null}
      {perClass.rows.length ? (
        <div className="table-wrap">
          <table className="table table-compact">
            <thead>
              <tr>
                <th rowSpan={2}>Class</th>
                {perClass.metrics.map((m) => (
                  <th key={m} colSpan={2} className="num th-group">
                    {metricName(m)}
                  </th>
                ))}
              </tr>
              <tr>
                {perClass.metrics.flatMap((m) => [
                  <th key={`${m}-val`} className="num">
                    val
                  </th>,
                  <th key={`${m}-test`} className="num">
                    test
                  </th>,
                ])}
              </tr>
            </thead>
            <tbody>
              {perClass.rows.map((row) => (
                <tr key={row.group}>
                  <td>{row.group}</td>
                  {perClass.metrics.flatMap((m) => [
                    <td key={`${m}-val`} className="num">
                      {formatMetric(row.values[m]?.val ?? null, m)}
                    </td>,
                    <td key={`${m}-test`} className="num">
                      {formatMetric(row.values[m]?.test ?? null, m)}
                    </td>,
                  ])}
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      ) : null}
    </div>
  );
}

export function ModelVersionsPanel({ projectId }: { projectId: number }) {
  const versions = useQuery(modelVersionsQuery(projectId));
  const [selected, setSelected] = useState<number | null>(null);
  let body;
  if (versions.isPending) body = <p className="muted">Loading…</p>;
  else if (versions.isError) {
    body = isNotAvailable(versions.error) ? <NotAvailable what="Model versions" /> : <ErrorMessage error={versions.error} />;
  } else if (versions.data.length === 0) {
    body = <p className="muted">No model trained yet.</p>;
  } else {
    const list = [...versions.data].sort((a, b) => b.number - a.number);
    const shown = list.find((v) => v.id === selected) ?? list.find((v) => v.is_active) ?? list[0]!;
    body = (
      <div className="versions">
        <ul className="version-list" aria-label="Model versions">
          {list.map((v) => (
            <li key={v.id}>
              <button
                type="button"
                className={v.id === shown.id ? "version is-selected" : "version"}
                onClick={() => setSelected(v.id)}
              >
                <span className="version-number">v{v.number}</span>
                {v.is_active ? <span className="badge badge-active">active</span> : null}
                <span className="muted small">{v.labels_seen ?? 0} labels</span>
              </button>
            </li>
          ))}
        </ul>
        <div className="version-detail">
          <p className="muted small">
            v{shown.number} · {shown.model_name} · trained on {shown.labels_seen ?? 0} labels
            {shown.auto_labels_seen ? ` + ${shown.auto_labels_seen} auto labels` : ""}
            {shown.credits_spent !== undefined ? ` · ${shown.credits_spent} credits spent` : ""} ·{" "}
            {new Date(shown.created_at).toLocaleString()}
          </p>
          <MetricsTable version={shown} />
        </div>
      </div>
    );
  }
  return (
    <Panel title="Model versions" className="panel-wide" testId="model-versions-panel">
      {body}
    </Panel>
  );
}
