import type { ReactNode } from "react";
import { Navigate, useLocation } from "react-router";
import { useMe } from "../features/auth/api";
import { ErrorMessage } from "../components/error-message";
import { Spinner } from "../components/spinner";

export function RequireAuth({ children }: { children: ReactNode }) {
  const me = useMe();
  const location = useLocation();
  if (me.isPending) return <Spinner label="Loading" />;
  if (me.isError) return <ErrorMessage error={me.error} />;
  if (!me.data) {
    const next = encodeURIComponent(location.pathname + location.search);
    return <Navigate to={`/login?next=${next}`} replace />;
  }
  return <>{children}</>;
}
