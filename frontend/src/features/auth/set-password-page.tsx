import { useState, type FormEvent } from "react";
import { Link, useSearchParams } from "react-router";
import { api } from "../../api/client";
import type { FieldErrors } from "../../api/field-errors";
import { FieldError, fieldErrorsOf } from "../../components/field-error";

/** Where an invite or reset link lands: the user chooses their password, then signs in. */
export function SetPasswordPage() {
  const [params] = useSearchParams();
  const [password, setPassword] = useState("");
  const [repeat, setRepeat] = useState("");
  const [errors, setErrors] = useState<FieldErrors>({});
  const [done, setDone] = useState(false);
  const [busy, setBusy] = useState(false);
  const uid = params.get("uid") ?? "";
  const token = params.get("token") ?? "";

  async function onSubmit(event: FormEvent) {
    event.preventDefault();
    if (password !== repeat) {
      setErrors({ repeat: "The two passwords differ." });
      return;
    }
    setBusy(true);
    setErrors({});
    try {
      await api<unknown>("/api/auth/csrf");
      await api<null>("/api/auth/set-password", { method: "POST", body: { uid, token, password } });
      setDone(true);
    } catch (err) {
      setErrors(fieldErrorsOf(err));
    } finally {
      setBusy(false);
    }
  }

  return (
    <div className="login-screen">
      {done ? (
        <div className="login-card" data-testid="password-set">
          <h1>Password set</h1>
          <p className="muted">You can sign in with it now.</p>
          <Link to="/login" className="btn btn-primary btn-block">
            Sign in
          </Link>
        </div>
      ) : (
        <form className="login-card" onSubmit={onSubmit}>
          <div className="brand brand-large">
            <span className="brand-mark" aria-hidden="true" />
            labelapp
          </div>
          <p className="muted">Choose your password.</p>
          {!uid || !token ? <div className="alert alert-error">This link is incomplete: open the whole link you were sent.</div> : null}
          <label className="field">
            <span>New password</span>
            <input name="password" type="password" autoComplete="new-password" value={password} onChange={(e) => setPassword(e.target.value)} required autoFocus />
            <FieldError errors={errors} path="password" />
          </label>
          <label className="field">
            <span>Repeat it</span>
            <input name="repeat" type="password" autoComplete="new-password" value={repeat} onChange={(e) => setRepeat(e.target.value)} required />
            <FieldError errors={errors} path="repeat" />
          </label>
          {errors[""] ? <div className="alert alert-error" role="alert">{errors[""]}</div> : null}
          <button type="submit" className="btn btn-primary btn-block" disabled={busy || !uid || !token}>
            {busy ? "Saving…" : "Set password"}
          </button>
        </form>
      )}
    </div>
  );
}
