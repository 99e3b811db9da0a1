import { useQuery, useQueryClient } from "@tanstack/react-query";
import { useState, type FormEvent } from "react";
import type { Membership, Role } from "../../../api/types";
import { ErrorMessage } from "../../../components/error-message";
import { Panel } from "../../../components/panel";
import { useMe } from "../../auth/api";
import { addMember, membersQuery, removeMember, updateMember } from "../api";

const ROLES: Role[] = ["admin", "annotator", "verifier"];

export function MembersPanel({ projectId }: { projectId: number }) {
  const queryClient = useQueryClient();
  const me = useMe();
  const members = useQuery(membersQuery(projectId));
  const [username, setUsername] = useState("");
  const [role, setRole] = useState<Role>("annotator");
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);

  const refresh = () => queryClient.invalidateQueries({ queryKey: membersQuery(projectId).queryKey });

  async function run(action: () => Promise<unknown>) {
    setBusy(true);
    setError(null);
    try {
      await action();
      await refresh();
      return true;
    } catch (err) {
      setError(err);
      return false;
    } finally {
      setBusy(false);
    }
  }

  async function onAdd(event: FormEvent) {
    event.preventDefault();
    if (await run(() => addMember(projectId, username.trim(), role))) setUsername("");
  }

  function onRemove(member: Membership) {
    if (window.confirm(`Remove ${member.user.username} from this project?`)) {
      void run(() => removeMember(projectId, member.id));
    }
  }

  return (
    <Panel title="Members and roles" testId="members-panel">
      {members.isPending ? <p className="muted">Loading members…</p> : null}
      {members.isError ? <ErrorMessage error={members.error} /> : null}
      {members.data ? (
        <div className="table-wrap">
          <table className="table">
            <thead>
              <tr>
                <th>User</th>
                <th>Role</th>
                <th />
              </tr>
            </thead>
            <tbody>
              {members.data.map((member) => (
                <tr key={member.id} data-testid={`member-${member.user.username}`}>
                  <td>
                    {member.user.username}
                    {member.user.id === me.data?.id ? <span className="muted small"> (you)</span> : null}
                  </td>
                  <td>
                    <select
                      aria-label={`Role of ${member.user.username}`}
                      value={member.role}
                      disabled={busy}
                      onChange={(e) => void run(() => updateMember(projectId, member.id, e.target.value as Role))}
                    >
                      {ROLES.map((r) => (
                        <option key={r} value={r}>
                          {r}
                        </option>
                      ))}
                    </select>
                  </td>
                  <td className="num">
                    <button type="button" className="btn btn-small btn-ghost" disabled={busy} onClick={() => onRemove(member)}>
                      Remove
                    </button>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      ) : null}
      <form className="inline-form" onSubmit={onAdd} aria-label="Add member">
        <label className="field grow">
          <span>Username</span>
          <input name="username" value={username} onChange={(e) => setUsername(e.target.value)} required />
        </label>
        <label className="field">
          <span>Role</span>
          <select name="role" value={role} onChange={(e) => setRole(e.target.value as Role)}>
            {ROLES.map((r) => (
              <option key={r} value={r}>
                {r}
              </option>
            ))}
          </select>
        </label>
        <button type="submit" className="btn btn-primary" disabled={busy}>
          Add
        </button>
      </form>
      {error ? <ErrorMessage error={error} /> : null}
    </Panel>
  );
}
