import { useQuery, useQueryClient } from "@tanstack/react-query";
import { useDeferredValue, useState, type FormEvent } from "react";
import { Link } from "react-router";
import type { Membership, Role } from "../../../api/types";
import { ErrorMessage } from "../../../components/error-message";
import { Panel } from "../../../components/panel";
import { useMe } from "../../auth";
import { addMember, memberCandidatesQuery, membersQuery, removeMember, roleChoicesQuery, updateMember } from "../api";

export function MembersPanel({ projectId }: { projectId: number }) {
  const queryClient = useQueryClient();
  const me = useMe();
  const members = useQuery(membersQuery(projectId));
  const roleChoices = useQuery(roleChoicesQuery(projectId));
  const roles: Role[] = roleChoices.data ?? [];
  const [username, setUsername] = useState("");
  const search = useDeferredValue(username.trim());
  const candidates = useQuery(memberCandidatesQuery(projectId, search));
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
                      {(roles.includes(member.role) ? roles : [member.role, ...roles]).map((r) => (
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
          <span>User</span>
          <input
            name="username"
            value={username}
            onChange={(e) => setUsername(e.target.value)}
            required
            list={`member-candidates-${projectId}`}
            autoComplete="off"
            placeholder="Type a name or username"
          />
          <datalist id={`member-candidates-${projectId}`} data-testid="member-candidates">
            {(candidates.data ?? []).map((user) => (
              <option key={user.id} value={user.username}>
                {[user.first_name, user.last_name].filter(Boolean).join(" ") || user.username}
              </option>
            ))}
          </datalist>
        </label>
        <label className="field">
          <span>Role</span>
          <select name="role" value={role} onChange={(e) => setRole(e.target.value as Role)}>
            {roles.map((r) => (
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
      {me.data?.is_staff ? (
        <p className="muted small">
          Someone new? <Link to="/users">Create their account</Link> first; they appear here as you type.
        </p>
      ) : (
        <p className="muted small">Someone new? Staff create accounts; then they appear here as you type.</p>
      )}
    </Panel>
  );
}
