import type { Balance } from "../../api/types";

export interface GaugeSegment {
  key: "spent" | "reserved" | "available";
  label: string;
  value: number;
  /** Share of the granted total, 0–1; the three shares add up to 1 (or 0 when nothing is granted). */
  fraction: number;
}

/**
 * Splits the granted credits into spent, reserved and available shares for the
 * gauge. Invariant from the ledger: spent + reserved ≤ granted; if a stale
 * balance breaks it, the shares are scaled down so the bar never overflows.
 */
export function gaugeSegments(balance: Balance): GaugeSegment[] {
  const spent = Math.max(0, balance.spent);
  const reserved = Math.max(0, balance.reserved);
  const available = Math.max(0, balance.granted - spent - reserved);
  const total = Math.max(balance.granted, spent + reserved);
  const share = (v: number) => (total > 0 ? v / total : 0);
  return [
    { key: "spent", label: "Spent", value: spent, fraction: share(spent) },
    { key: "reserved", label: "Reserved", value: reserved, fraction: share(reserved) },
    { key: "available", label: "Available", value: available, fraction: share(available) },
  ];
}

export function percent(fraction: number): string {
  return `${(fraction * 100).toFixed(fraction > 0 && fraction < 0.01 ? 1 : 0)}%`;
}
