import { useQuery } from "@tanstack/react-query";
import { Bar, BarChart, CartesianGrid, Legend, Line, LineChart, ResponsiveContainer, Tooltip, XAxis, YAxis } from "recharts";
import { api } from "../../api/client";
import type { AnnotatorStats as Stats } from "../../api/types";
import { ErrorMessage } from "../../components/error-message";
import { Panel } from "../../components/panel";
import { labelsPerDayRows, percent, qualityRows } from "./annotator-stats-data";

const PALETTE = ["#2563eb", "#f97316", "#16a34a", "#9333ea", "#dc2626", "#0891b2", "#ca8a04", "#db2777"];

/** Annotator statistics for the admin page: labels per day, quality rates, and the table behind
 *  both, with a CSV export. The admin page places it (in its Data tab). */
export function AnnotatorStatsPanel({ projectId }: { projectId: number }) {
  const stats = useQuery({
    queryKey: ["projects", projectId, "annotator-stats"],
    queryFn: () => api<Stats>(`/api/projects/${projectId}/annotator-stats`),
  });
  const actions = (
    <a className="btn btn-small" href={`/api/projects/${projectId}/annotator-stats/csv`} download>Export CSV</a>
  );
  let body;
  if (stats.isPending) body = <p className="muted">Loading…</p>;
  else if (stats.isError) body = <ErrorMessage error={stats.error} />;
  else if (stats.data.annotators.length === 0) body = <p className="muted">No labels yet.</p>;
  else {
    const names = stats.data.annotators.map((a) => a.username);
    body = (
      <div className="annotator-stats" data-testid="annotator-stats">
        <div className="chart-pair">
          <figure className="chart">
            <figcaption className="small muted">Labels per day</figcaption>
            <ResponsiveContainer width="100%" height={220}>
              <LineChart data={labelsPerDayRows(stats.data)} margin={{ top: 8, right: 16, bottom: 8, left: 0 }}>
                <CartesianGrid stroke="#e2e8f0" />
                <XAxis dataKey="day" tick={{ fontSize: 12 }} height={40}
                  label={{ value: "day (UTC)", position: "insideBottom", offset: -4, fontSize: 12 }} />
                <YAxis allowDecimals={false} tick={{ fontSize: 12 }} width={40}
                  label={{ value: "labels", angle: -90, position: "insideLeft", fontSize: 12 }} />
                <Tooltip />
                <Legend verticalAlign="top" height={28} wrapperStyle={{ fontSize: 12 }} />
                {names.map((name, i) => (
                  <Line key={name} type="monotone" dataKey={name} stroke={PALETTE[i % PALETTE.length]} dot isAnimationActive={false} />
                ))}
              </LineChart>
            </ResponsiveContainer>
          </figure>
          <figure className="chart">
            <figcaption className="small muted">Quality per annotator</figcaption>
            <ResponsiveContainer width="100%" height={220}>
              <BarChart data={qualityRows(stats.data)} margin={{ top: 8, right: 16, bottom: 8, left: 0 }}>
                <CartesianGrid stroke="#e2e8f0" />
                <XAxis dataKey="username" tick={{ fontSize: 12 }} height={40} />
                <YAxis domain={[0, 100]} tick={{ fontSize: 12 }} width={40} unit="%" />
                <Tooltip formatter={(v) => (typeof v === "number" ? `${v}%` : "–")} />
                <Legend verticalAlign="top" height={28} wrapperStyle={{ fontSize: 12 }} />
                <Bar dataKey="gold" name="gold score" fill="#ca8a04" isAnimationActive={false} />
                <Bar dataKey="agreement" name="agreement with reviewers" fill="#16a34a" isAnimationActive={false} />
                <Bar dataKey="rejection" name="rejection rate" fill="#dc2626" isAnimationActive={false} />
                <Bar dataKey="consensus" name="consensus agreement" fill="#2563eb" isAnimationActive={false} />
              </BarChart>
            </ResponsiveContainer>
          </figure>
        </div>
        <div className="table-wrap">
          <table className="table">
            <thead>
              <tr>
                <th>Annotator</th><th>Labels</th><th>Median s / label</th><th>Gold score</th>
                <th>Reviewed</th><th>Rejection rate</th><th>Agreement</th>
                <th title="Share of their consensus pairs (two blind labels of one image) that agreed">Consensus</th>
              </tr>
            </thead>
            <tbody>
              {stats.data.annotators.map((a) => (
                <tr key={a.user}>
                  <td>{a.username}</td>
                  <td>{a.labels}</td>
                  <td>{a.median_seconds == null ? "–" : a.median_seconds.toFixed(1)}</td>
                  <td>{a.gold_answers ? `${percent(a.gold_score)} (${a.gold_answers})` : "–"}</td>
                  <td>{a.reviewed}</td>
                  <td>{percent(a.rejection_rate)}</td>
                  <td>{percent(a.agreement_with_reviewers)}</td>
                  <td>{a.consensus_pairs ? `${percent(a.consensus_agreement)} (${a.consensus_pairs})` : "–"}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      </div>
    );
  }
  return (
    <Panel title="Annotators" actions={actions} className="panel-wide" testId="annotator-stats-panel">
      {body}
    </Panel>
  );
}
