import type { ReactNode } from "react";

export function Panel({
  title,
  actions,
  children,
  className,
  testId,
}: {
  title: string;
  actions?: ReactNode;
  children: ReactNode;
  className?: string;
  testId?: string;
}) {
  return (
    <section className={`panel ${className ?? ""}`} aria-label={title} data-testid={testId}>
      <header className="panel-header">
        <h2>{title}</h2>
        {actions ? <div className="panel-actions">{actions}</div> : null}
      </header>
      <div className="panel-body">{children}</div>
    </section>
  );
}

/** The unobtrusive placeholder for a panel whose endpoint the server does not have yet. */
export function NotAvailable({ what }: { what: string }) {
  return <p className="muted not-available">{what} is not available yet.</p>;
}
