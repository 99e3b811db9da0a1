import { useQuery } from "@tanstack/react-query";
import { CartesianGrid, Legend, Line, LineChart, ResponsiveContainer, Tooltip, XAxis, YAxis } from "recharts";
import { isNotAvailable } from "../../../api/client";
import { ErrorMessage } from "../../../components/error-message";
import { NotAvailable, Panel } from "../../../components/panel";
import { learningCurveQuery } from "../api";
import { curveSeries } from "../curve-data";

const PALETTE = ["#2563eb", "#f97316", "#16a34a", "#9333ea", "#dc2626", "#0891b2"];

export function strategyColor(strategy: string, index: number): string {
  if (strategy === "random") return "#94a3b8";
  return PALETTE[index % PALETTE.length]!;
}

export function LearningCurvePanel({ projectId, taskType }: { projectId: number; taskType: "classification" | "detection" }) {
  const curve = useQuery(learningCurveQuery(projectId));
  const fallbackMetric = taskType === "detection" ? "map50" : "accuracy";
  let body;
  if (curve.isPending) body = <p className="muted">Loading…</p>;
  else if (curve.isError) {
    body = isNotAvailable(curve.error) ? <NotAvailable what="The learning curve" /> : <ErrorMessage error={curve.error} />;
  } else {
    const metric = curve.data.live?.metric ?? fallbackMetric;
    const series = curveSeries(curve.data.live, curve.data.runs ?? [], metric);
    const hasTest = series.some((s) => s.points.some((p) => p.test !== null));
    body =
      series.length === 0 ? (
        <p className="muted">No points yet: the curve grows with each trained model version.</p>
      ) : (
        <div className="chart" data-testid="learning-curve">
          <ResponsiveContainer width="100%" height={260}>
            <LineChart margin={{ top: 8, right: 16, bottom: 8, left: 0 }}>
              <CartesianGrid stroke="#e2e8f0" />
              <XAxis
                type="number"
                dataKey="credits_spent"
                domain={[0, (max: number) => Math.max(1, Math.ceil(max * 1.05))]}
                tick={{ fontSize: 12 }}
                label={{ value: "credits spent", position: "insideBottom", offset: -4, fontSize: 12 }}
                height={40}
              />
              <YAxis domain={[0, 1]} tick={{ fontSize: 12 }} width={40} />
              <Tooltip formatter={(v) => (typeof v === "number" ? v.toFixed(3) : String(v))} />
              <Legend verticalAlign="top" height={28} wrapperStyle={{ fontSize: 12 }} />
              {series.map((s, i) => (
                <Line
                  key={`${s.strategy}-${i}-val`}
                  data={s.points}
                  dataKey="val"
                  name={s.strategy.replaceAll("_", " ")}
                  stroke={strategyColor(s.strategy, i)}
                  strokeWidth={2}
                  dot={{ r: 3 }}
                  isAnimationActive={false}
                  connectNulls
                />
              ))}
              {hasTest
                ? series.map((s, i) => (
                    <Line
                      key={`${s.strategy}-${i}-test`}
                      legendType="none"
                      data={s.points}
                      dataKey="test"
                      name={`${s.strategy.replaceAll("_", " ")} (test)`}
                      stroke={strategyColor(s.strategy, i)}
                      strokeDasharray="5 4"
                      strokeWidth={1.5}
                      dot={false}
                      isAnimationActive={false}
                      connectNulls
                    />
                  ))
                : null}
            </LineChart>
          </ResponsiveContainer>
          <p className="muted small chart-caption">
            {metric} against credits spent · solid: validation{hasTest ? " · dashed: test" : ""}
          </p>
        </div>
      );
  }
  return (
    <Panel title="Learning curve" className="panel-wide" testId="learning-curve-panel">
      {body}
    </Panel>
  );
}
