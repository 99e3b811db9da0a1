import { useQuery, useQueryClient } from "@tanstack/react-query";
import { useState, type FormEvent } from "react";
import type { Balance } from "../../../api/types";
import { ErrorMessage } from "../../../components/error-message";
import { Panel } from "../../../components/panel";
import { balanceQuery, grantCredits, ledgerQuery } from "../api";
import { gaugeSegments, percent } from "../gauge";

export function CreditGauge({ balance }: { balance: Balance }) {
  const segments = gaugeSegments(balance);
  return (
    <div className="gauge" data-testid="credit-gauge">
      <div
        className="gauge-bar"
        role="img"
        aria-label={`${balance.spent} spent, ${balance.reserved} reserved, ${balance.available} available of ${balance.granted} granted`}
      >
        {segments.map((s) =>
          s.fraction > 0 ? (
            <div key={s.key} className={`gauge-seg gauge-${s.key}`} style={{ width: percent(s.fraction) }} />
          ) : null,
        )}
      </div>
      <dl className="gauge-legend">
        <div>
          <dt>Granted</dt>
          <dd data-testid="gauge-granted">{balance.granted}</dd>
        </div>
        {segments.map((s) => (
          <div key={s.key}>
            <dt>
              <span className={`legend-dot gauge-${s.key}`} aria-hidden="true" />
              {s.label}
            </dt>
            <dd data-testid={`gauge-${s.key}`}>{s.key === "available" ? balance.available : s.value}</dd>
          </div>
        ))}
      </dl>
    </div>
  );
}

function GrantForm({ projectId }: { projectId: number }) {
  const queryClient = useQueryClient();
  const [amount, setAmount] = useState("100");
  const [note, setNote] = useState("");
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);

  async function onSubmit(event: FormEvent) {
    event.preventDefault();
    const value = Number(amount);
    if (!Number.isInteger(value) || value <= 0) {
      setError(new Error("Enter a whole number of credits greater than 0."));
      return;
    }
    setBusy(true);
    setError(null);
    try {
      await grantCredits(projectId, value, note);
      setNote("");
      await Promise.all([
        queryClient.invalidateQueries({ queryKey: ["projects", projectId, "balance"] }),
        queryClient.invalidateQueries({ queryKey: ["projects", projectId, "ledger"] }),
        queryClient.invalidateQueries({ queryKey: ["projects"], exact: true }),
        queryClient.invalidateQueries({ queryKey: ["projects", projectId], exact: true }),
      ]);
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  }

  return (
    <form className="inline-form" onSubmit={onSubmit} aria-label="Grant credits">
      <label className="field">
        <span>Credits</span>
        <input
          name="amount"
          type="number"
          min={1}
          step={1}
          value={amount}
          onChange={(e) => setAmount(e.target.value)}
          required
        />
      </label>
      <label className="field grow">
        <span>Note</span>
        <input name="note" value={note} onChange={(e) => setNote(e.target.value)} placeholder="e.g. Q3 budget" maxLength={200} />
      </label>
      <button type="submit" className="btn btn-primary" disabled={busy}>
        {busy ? "Granting…" : "Grant"}
      </button>
      {error ? <ErrorMessage error={error} /> : null}
    </form>
  );
}

function Ledger({ projectId }: { projectId: number }) {
  const [page, setPage] = useState(1);
  const ledger = useQuery(ledgerQuery(projectId, page));
  if (ledger.isPending) return <p className="muted">Loading ledger…</p>;
  if (ledger.isError) return <ErrorMessage error={ledger.error} />;
  const { results, next, previous, count } = ledger.data;
  return (
    <>
      <div className="table-wrap">
        <table className="table" data-testid="ledger">
          <thead>
            <tr>
              <th>When</th>
              <th>Kind</th>
              <th className="num">Amount</th>
              <th>Who</th>
              <th>Image</th>
              <th>Note</th>
            </tr>
          </thead>
          <tbody>
            {results.length === 0 ? (
              <tr>
                <td colSpan={6} className="muted">
                  No ledger entries yet.
                </td>
              </tr>
            ) : (
              results.map((entry) => (
                <tr key={entry.id}>
                  <td className="nowrap">{new Date(entry.created_at).toLocaleString()}</td>
                  <td>
                    <span className={`badge badge-kind-${entry.kind}`}>{entry.kind}</span>
                  </td>
                  <td className="num">{entry.amount}</td>
                  <td>{entry.actor === null || entry.actor === undefined ? "–" : String(entry.actor)}</td>
                  <td>{entry.image ?? "–"}</td>
                  <td className="wrap">{entry.note}</td>
                </tr>
              ))
            )}
          </tbody>
        </table>
      </div>
      {next || previous ? (
        <div className="pager">
          <button type="button" className="btn btn-small" disabled={!previous} onClick={() => setPage((p) => p - 1)}>
            Previous
          </button>
          <span className="muted small">
            Page {page} · {count} entries
          </span>
          <button type="button" className="btn btn-small" disabled={!next} onClick={() => setPage((p) => p + 1)}>
            Next
          </button>
        </div>
      ) : null}
    </>
  );
}

export function CreditsPanel({ projectId, fallback }: { projectId: number; fallback: Balance }) {
  const balance = useQuery(balanceQuery(projectId));
  return (
    <Panel title="Credits" className="panel-wide" testId="credits-panel">
      <CreditGauge balance={balance.data ?? fallback} />
      <GrantForm projectId={projectId} />
      <h3>Ledger</h3>
      <Ledger projectId={projectId} />
    </Panel>
  );
}
