import { useQuery } from "@tanstack/react-query";
import {
  CartesianGrid,
  ErrorBar,
  Legend,
  Line,
  LineChart,
  ReferenceLine,
  ResponsiveContainer,
  Tooltip,
  XAxis,
  YAxis,
  type TooltipContentProps,
} from "recharts";
import { isNotAvailable } from "../../../api/client";
import { AXIS_LABEL, GRID_STROKE, LEGEND_STYLE, niceCeil, seriesColor, TICK } from "../../../components/charts/chart-style";
import { formatCount, formatValue, metricName } from "../../../components/charts/format";
import "../../../components/charts/charts.css";
import { ErrorMessage } from "../../../components/error-message";
import { NotAvailable, Panel } from "../../../components/panel";
import { balanceQuery, learningCurveQuery } from "../api";
import { chartRows, curveSeries, pointCount, type ChartRow, type CurveSeries } from "../curve-data";

/** Five even steps from 0 to the (nice) top, so every tick label is exact. */
const yTicks = (top: number) => Array.from({ length: 6 }, (_, i) => Number(((top * i) / 5).toFixed(4)));

const seriesLabel = (strategy: string) => strategy.replaceAll("_", " ");

function CurveTooltip({ active, payload, series, metric }: TooltipContentProps & { series: CurveSeries[]; metric: string }) {
  const row = payload?.[0]?.payload as ChartRow | undefined;
  if (!active || !row) return null;
  return (
    <div className="chart-tooltip">
      <div className="chart-tooltip-title">{formatCount(row.credits_spent)} credits spent</div>
      <ul>
        {series.map((s, i) => {
          const val = row[`s${i}_val`] as number | null | undefined;
          const test = row[`s${i}_test`] as number | null | undefined;
          if (val == null && test == null) return null;
          const err = row[`s${i}_err`] as [number, number] | null | undefined;
          const n = row[`s${i}_n`] as number | undefined;
          const testCi = row[`s${i}_test_ci`] as [number, number] | undefined;
          return (
            <li key={s.strategy}>
              <span className="chart-tooltip-swatch" style={{ background: seriesColor(s.strategy, i) }} />
              <span>
                <strong>{seriesLabel(s.strategy)}</strong> {metricName(metric)} val {formatValue(val)}
                {err && val != null ? ` [${(val - err[0]).toFixed(3)}–${(val + err[1]).toFixed(3)}]` : ""}
                {n != null ? `, n = ${formatCount(n)}` : ""}
                {test != null ? ` · test ${formatValue(test)}` : ""}
                {test != null && testCi ? ` [${testCi[0].toFixed(3)}–${testCi[1].toFixed(3)}]` : ""}
              </span>
            </li>
          );
        })}
      </ul>
    </div>
  );
}

function onePointSentence(series: CurveSeries[], metric: string): string {
  const s = series.find((x) => x.points.some((p) => p.val !== null || p.test !== null))!;
  const p = s.points.find((x) => x.val !== null || x.test !== null)!;
  const interval = p.valInterval ? ` (95% interval ${p.valInterval.low.toFixed(3)}–${p.valInterval.high.toFixed(3)})` : "";
  const test = p.test !== null ? `, ${formatValue(p.test)} on test` : "";
  const value = p.val !== null ? `${formatValue(p.val)}${interval} on validation${test}` : `${formatValue(p.test)} on test`;
  const who = s.strategy === "this project" ? "One model version so far" : `One point so far (${seriesLabel(s.strategy)})`;
  return `${who}: ${metricName(metric)} ${value} after ${formatCount(p.credits_spent)} credits. The curve grows with each trained version.`;
}

export function LearningCurvePanel({ projectId, taskType }: { projectId: number; taskType: "classification" | "detection" }) {
  const curve = useQuery(learningCurveQuery(projectId));
  const balance = useQuery(balanceQuery(projectId));
  const fallbackMetric = taskType === "detection" ? "map50" : "accuracy";
  let body;
  if (curve.isPending) body = <p className="muted">Loading…</p>;
  else if (curve.isError) {
    body = isNotAvailable(curve.error) ? <NotAvailable what="The learning curve" /> : <ErrorMessage error={curve.error} />;
  } else {
    const metric = curve.data.live?.metric ?? fallbackMetric;
    const series = curveSeries(curve.data.live, curve.data.runs ?? [], metric);
    if (series.length === 0) {
      body = <p className="muted">No points yet: the curve grows with each trained model version.</p>;
    } else {
      const rows = chartRows(series);
      const hasTest = series.some((s) => s.points.some((p) => p.test !== null));
      const hasInterval = series.some((s) => s.points.some((p) => p.valInterval));
      const budget = balance.data?.granted ?? 0;
      const maxSpent = Math.max(0, ...rows.map((r) => r.credits_spent));
      const xMax = Math.max(1, budget, maxSpent);
      const yTop = Math.max(
        0,
        ...series.flatMap((s) => s.points.flatMap((p) => [p.val ?? 0, p.test ?? 0, p.valInterval?.high ?? 0])),
      );
      // Scores live in [0, 1]; zoom in while they are small, never past 1.
      const yMax = Math.min(1, niceCeil(yTop * 1.1));
      const single = pointCount(series) === 1;
      body = (
        <div className="chart" data-testid="learning-curve" data-points={pointCount(series)}>
          {single ? (
            <p className="chart-note" data-testid="learning-curve-note">
              {onePointSentence(series, metric)}
            </p>
          ) : null}
          <ResponsiveContainer width="100%" height={280}>
            <LineChart data={rows} margin={{ top: 22, right: 40, bottom: 8, left: 8 }}>
              <CartesianGrid stroke={GRID_STROKE} />
              <XAxis
                type="number"
                dataKey="credits_spent"
                domain={[0, xMax]}
                padding={{ left: 10, right: 10 }}
                allowDecimals={false}
                tick={TICK}
                label={{ value: "credits spent", position: "insideBottom", offset: -4, ...AXIS_LABEL }}
                height={44}
              />
              <YAxis
                domain={[0, yMax]}
                tick={TICK}
                ticks={yTicks(yMax)}
                tickFormatter={(v: number) => String(Number(v.toFixed(3)))}
                width={56}
                label={{ value: metricName(metric), angle: -90, position: "insideLeft", offset: 8, ...AXIS_LABEL }}
              />
              {budget > 0 ? (
                <ReferenceLine
                  x={budget}
                  stroke="#94a3b8"
                  strokeDasharray="3 3"
                  label={{ value: `budget ${formatCount(budget)}`, position: "top", ...AXIS_LABEL }}
                />
              ) : null}
              <Tooltip content={(props) => <CurveTooltip {...props} series={series} metric={metric} />} />
              <Legend verticalAlign="top" height={28} wrapperStyle={LEGEND_STYLE} itemSorter={null} />
              {series.map((s, i) => (
                <Line
                  key={`${s.strategy}-val`}
                  dataKey={`s${i}_val`}
                  name={seriesLabel(s.strategy)}
                  stroke={seriesColor(s.strategy, i)}
                  strokeWidth={2}
                  dot={{ r: single ? 5 : 3 }}
                  isAnimationActive={false}
                  connectNulls
                >
                  {hasInterval ? (
                    <ErrorBar
                      dataKey={`s${i}_err`}
                      width={6}
                      strokeWidth={1.5}
                      stroke={seriesColor(s.strategy, i)}
                      isAnimationActive={false}
                    />
                  ) : null}
                </Line>
              ))}
              {hasTest
                ? series.map((s, i) => (
                    <Line
                      key={`${s.strategy}-test`}
                      legendType="none"
                      dataKey={`s${i}_test`}
                      name={`${seriesLabel(s.strategy)} (test)`}
                      stroke={seriesColor(s.strategy, i)}
                      strokeDasharray="5 4"
                      strokeWidth={1.5}
                      dot={single ? { r: 4, strokeDasharray: "none" } : false}
                      isAnimationActive={false}
                      connectNulls
                    />
                  ))
                : null}
            </LineChart>
          </ResponsiveContainer>
          <p className="muted small chart-caption">
            {metricName(metric)} against credits spent, 0 to {budget > 0 ? "the budget" : "the credits spent so far"} · solid:
            validation{hasTest ? " · dashed: test" : ""}
            {hasInterval ? " · bars: 95% interval on the evaluation sample" : ""}
          </p>
        </div>
      );
    }
  }
  return (
    <Panel title="Learning curve" className="panel-wide" testId="learning-curve-panel">
      {body}
    </Panel>
  );
}
