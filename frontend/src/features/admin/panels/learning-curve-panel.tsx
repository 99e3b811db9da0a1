import { useQuery } from "@tanstack/react-query";
import { CartesianGrid, Legend, Line, LineChart, ResponsiveContainer, Tooltip, XAxis, YAxis } from "recharts";
import { isNotAvailable } from "../../../api/client";
import { ErrorMessage } from "../../../components/error-message";
import { NotAvailable, Panel } from "../../../components/panel";
import { learningCurveQuery } from "../api";

const PALETTE = ["#2563eb", "#f97316", "#16a34a", "#9333ea", "#dc2626", "#0891b2"];

export function strategyColor(strategy: string, index: number): string {
  if (strategy === "random") return "#94a3b8";
  return PALETTE[index % PALETTE.length]!;
}

export function LearningCurvePanel({ projectId }: { projectId: number }) {
  const curve = useQuery(learningCurveQuery(projectId));
  let body;
  if (curve.isPending) body = <p className="muted">Loading…</p>;
  else if (curve.isError) {
    body = isNotAvailable(curve.error) ? <NotAvailable what="The learning curve" /> : <ErrorMessage error={curve.error} />;
  } else if (curve.data.runs.every((r) => r.points.length === 0)) {
    body = <p className="muted">No points yet: the curve grows with each trained model version.</p>;
  } else {
    const runs = curve.data.runs;
    const hasTest = runs.some((r) => r.points.some((p) => typeof p.test_map50 === "number"));
    body = (
      <div className="chart" data-testid="learning-curve">
        <ResponsiveContainer width="100%" height={260}>
          <LineChart margin={{ top: 8, right: 16, bottom: 8, left: 0 }}>
            <CartesianGrid stroke="#e2e8f0" />
            <XAxis
              type="number"
              dataKey="credits_spent"
              domain={["dataMin", "dataMax"]}
              tick={{ fontSize: 12 }}
              label={{ value: "credits spent", position: "insideBottom", offset: -4, fontSize: 12 }}
              height={40}
            />
            <YAxis domain={[0, 1]} tick={{ fontSize: 12 }} width={40} />
            <Tooltip formatter={(v) => (typeof v === "number" ? v.toFixed(3) : String(v))} />
            <Legend wrapperStyle={{ fontSize: 12 }} />
            {runs.map((run, i) => (
              <Line
                key={`${run.strategy}-val`}
                data={run.points}
                dataKey="val_map50"
                name={`${run.strategy} · val mAP50`}
                stroke={strategyColor(run.strategy, i)}
                strokeWidth={2}
                dot={{ r: 3 }}
                isAnimationActive={false}
                connectNulls
              />
            ))}
            {hasTest
              ? runs.map((run, i) => (
                  <Line
                    key={`${run.strategy}-test`}
                    data={run.points}
                    dataKey="test_map50"
                    name={`${run.strategy} · test mAP50`}
                    stroke={strategyColor(run.strategy, i)}
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
      </div>
    );
  }
  return (
    <Panel title="Learning curve" className="panel-wide" testId="learning-curve-panel">
      {body}
    </Panel>
  );
}
