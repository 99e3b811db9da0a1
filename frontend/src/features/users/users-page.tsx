import { keepPreviousData, useQuery, useQueryClient } from "@tanstack/react-query";
import { useDeferredValue, useState, type FormEvent } from "react";
import type { FieldErrors } from "../../api/field-errors";
import type { Invite, UserAdmin } from "../../api/types";
import { ErrorMessage } from "../../components/error-message";
import { FieldError, fieldErrorsOf } from "../../components/field-error";
import { Panel } from "../../components/panel";
import { Spinner } from "../../components/spinner";
import { useMe } from "../auth";
import { createUser, resetPassword, updateUser, usersQuery } from "./api";

/** The invite link, shown once: the server keeps only what checks it. */
function InviteBox({ invite, onClose }: { invite: Invite; onClose: () => void }) {
  const [copied, setCopied] = useState(false);
  return (
    <div className="alert alert-success invite-box" data-testid="invite">
      <p>
        Send this link to <strong>{invite.user.username}</strong>. It is shown only now, works once, and expires in{" "}
        {invite.expires_in_hours} hours.
      </p>
      <div className="row">
        <input className="grow invite-url" readOnly value={invite.invite_url} aria-label="Invite link" onFocus={(e) => e.target.select()} />
        <button
          type="button"
          className="btn btn-small"
          onClick={async () => {
            await navigator.clipboard?.writeText(invite.invite_url);
            setCopied(true);
          }}
        >
          {copied ? "Copied" : "Copy"}
        </button>
        <button type="button" className="btn btn-small btn-ghost" onClick={onClose}>
          Done
        </button>
      </div>
    </div>
  );
}

function CreateUserForm({ onInvite }: { onInvite: (invite: Invite) => void }) {
  const queryClient = useQueryClient();
  const [values, setValues] = useState({ username: "", first_name: "", last_name: "", email: "" });
  const [errors, setErrors] = useState<FieldErrors>({});
  const [busy, setBusy] = useState(false);
  const set = (key: keyof typeof values) => (e: { target: { value: string } }) => setValues({ ...values, [key]: e.target.value });

  async function onSubmit(event: FormEvent) {
    event.preventDefault();
    setBusy(true);
    setErrors({});
    try {
      const invite = await createUser({ ...values, username: values.username.trim(), is_staff: false });
      onInvite(invite);
      setValues({ username: "", first_name: "", last_name: "", email: "" });
      await queryClient.invalidateQueries({ queryKey: ["users"] });
    } catch (err) {
      setErrors(fieldErrorsOf(err));
    } finally {
      setBusy(false);
    }
  }

  return (
    <form className="inline-form" onSubmit={onSubmit} aria-label="Create user" noValidate>
      <label className="field grow">
        <span>Username</span>
        <input name="username" value={values.username} onChange={set("username")} required autoComplete="off" />
        <FieldError errors={errors} path="username" />
      </label>
      <label className="field grow">
        <span>First name</span>
        <input name="first_name" value={values.first_name} onChange={set("first_name")} autoComplete="off" />
        <FieldError errors={errors} path="first_name" />
      </label>
      <label className="field grow">
        <span>Last name</span>
        <input name="last_name" value={values.last_name} onChange={set("last_name")} autoComplete="off" />
        <FieldError errors={errors} path="last_name" />
      </label>
      <label className="field grow">
        <span>Email (optional)</span>
        <input name="email" type="email" value={values.email} onChange={set("email")} autoComplete="off" />
        <FieldError errors={errors} path="email" />
      </label>
      <button type="submit" className="btn btn-primary" disabled={busy}>
        Create and invite
      </button>
      {errors[""] ? <div className="alert alert-error" role="alert">{errors[""]}</div> : null}
    </form>
  );
}

function UserRow({ user, isMe, onInvite, onError }: { user: UserAdmin; isMe: boolean; onInvite: (i: Invite) => void; onError: (e: unknown) => void }) {
  const queryClient = useQueryClient();
  const [busy, setBusy] = useState(false);
  const name = [user.first_name, user.last_name].filter(Boolean).join(" ");

  async function run(action: () => Promise<unknown>) {
    setBusy(true);
    onError(null);
    try {
      await action();
      await queryClient.invalidateQueries({ queryKey: ["users"] });
    } catch (err) {
      onError(err);
    } finally {
      setBusy(false);
    }
  }

  return (
    <tr data-testid={`user-${user.username}`} className={user.is_active ? undefined : "row-inactive"}>
      <td>
        <strong>{user.username}</strong>
        {isMe ? <span className="muted small"> (you)</span> : null}
        {name ? <div className="muted small">{name}</div> : null}
      </td>
      <td>
        {user.is_superuser ? <span className="badge badge-role-admin">superuser</span> : user.is_staff ? <span className="badge badge-role-admin">staff</span> : null}{" "}
        <span className={`badge ${user.is_active ? "badge-active" : "badge-inactive"}`}>{user.is_active ? "active" : "deactivated"}</span>
      </td>
      <td className="muted small nowrap col-last">{user.last_login ? new Date(user.last_login).toLocaleDateString() : "never signed in"}</td>
      <td className="num">
        <div className="row row-end">
          <button
            type="button"
            className="btn btn-small"
            disabled={busy}
            onClick={() => {
              if (window.confirm(`Reset the password of ${user.username}? Their current password stops working at once.`)) {
                void run(async () => onInvite(await resetPassword(user.id)));
              }
            }}
          >
            Reset password
          </button>
          {isMe ? null : (
            <button
              type="button"
              className={user.is_active ? "btn btn-small btn-danger" : "btn btn-small"}
              disabled={busy}
              onClick={() => {
                if (!user.is_active || window.confirm(`Deactivate ${user.username}? They can no longer sign in or use API tokens.`)) {
                  void run(() => updateUser(user.id, { is_active: !user.is_active }));
                }
              }}
            >
              {user.is_active ? "Deactivate" : "Reactivate"}
            </button>
          )}
        </div>
      </td>
    </tr>
  );
}

/** Accounts, for staff: create (with an invite link), reset passwords, deactivate. */
export function UsersPage() {
  const me = useMe();
  const [search, setSearch] = useState("");
  const [page, setPage] = useState(1);
  const deferred = useDeferredValue(search.trim());
  const users = useQuery({ ...usersQuery(deferred, page), enabled: Boolean(me.data?.is_staff), placeholderData: keepPreviousData });
  const [invite, setInvite] = useState<Invite | null>(null);
  const [error, setError] = useState<unknown>(null);

  if (!me.data?.is_staff) {
    return (
      <div className="page narrow">
        <div className="empty-state">
          <h1>Staff only</h1>
          <p className="muted">Ask a staff member to create accounts or reset passwords.</p>
        </div>
      </div>
    );
  }
  return (
    <div className="page">
      <div className="page-header">
        <h1>Users</h1>
        <span className="muted">{users.data ? `${users.data.count} account${users.data.count === 1 ? "" : "s"}` : ""}</span>
      </div>
      <Panel title="New user" testId="create-user-panel">
        <p className="muted small">
          The new user gets a link where they choose their own password. Add them to projects from a project's Members tab.
        </p>
        <CreateUserForm onInvite={setInvite} />
      </Panel>
      {invite ? <InviteBox invite={invite} onClose={() => setInvite(null)} /> : null}
      <Panel title="Accounts" testId="users-panel">
        <label className="field">
          <span>Search</span>
          <input
            type="search"
            value={search}
            onChange={(e) => {
              setSearch(e.target.value);
              setPage(1);
            }}
            placeholder="Username or name"
          />
        </label>
        {error ? <ErrorMessage error={error} /> : null}
        {users.isPending ? <Spinner label="Loading users" /> : null}
        {users.isError ? <ErrorMessage error={users.error} /> : null}
        {users.data ? (
          <div className="table-wrap">
            <table className="table users-table">
              <thead>
                <tr>
                  <th>User</th>
                  <th>Status</th>
                  <th className="col-last">Last sign-in</th>
                  <th />
                </tr>
              </thead>
              <tbody>
                {users.data.results.map((user) => (
                  <UserRow key={user.id} user={user} isMe={user.id === me.data?.id} onInvite={setInvite} onError={setError} />
                ))}
              </tbody>
            </table>
          </div>
        ) : null}
        {users.data && (users.data.next || users.data.previous) ? (
          <div className="row">
            <button type="button" className="btn btn-small" disabled={!users.data.previous} onClick={() => setPage(page - 1)}>
              Previous
            </button>
            <span className="muted small">Page {page}</span>
            <button type="button" className="btn btn-small" disabled={!users.data.next} onClick={() => setPage(page + 1)}>
              Next
            </button>
          </div>
        ) : null}
      </Panel>
    </div>
  );
}
