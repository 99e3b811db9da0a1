import { queryOptions } from "@tanstack/react-query";
import { api, listResults } from "../../api/client";
import type {
  Balance,
  HealthReport,
  LearningCurves,
  LedgerEntry,
  Membership,
  ModelVersion,
  Paginated,
  Role,
  UserCandidate,
  EngineStatus,
  RescoreJob,
  SynthesisJob,
  TrainingRun,
} from "../../api/types";

const base = (projectId: number) => `/api/projects/${projectId}`;

export const balanceQuery = (projectId: number) =>
  queryOptions({
    queryKey: ["projects", projectId, "balance"],
    queryFn: () => api<Balance>(`${base(projectId)}/credits`),
  });

export const ledgerQuery = (projectId: number, page: number) =>
  queryOptions({
    queryKey: ["projects", projectId, "ledger", { page }],
    queryFn: async (): Promise<Paginated<LedgerEntry>> => {
      const data = await api<Paginated<LedgerEntry> | LedgerEntry[]>(`${base(projectId)}/credits/ledger?page=${page}`);
      return Array.isArray(data) ? { count: data.length, next: null, previous: null, results: data } : data;
    },
  });

export const engineQuery = (projectId: number) =>
  queryOptions({
    queryKey: ["projects", projectId, "engine"],
    queryFn: () => api<EngineStatus>(`${base(projectId)}/engine`),
  });

export const membersQuery = (projectId: number) =>
  queryOptions({
    queryKey: ["projects", projectId, "members"],
    queryFn: async () => listResults(await api<Membership[] | Paginated<Membership>>(`${base(projectId)}/members`)),
  });

export const modelVersionsQuery = (projectId: number) =>
  queryOptions({
    queryKey: ["projects", projectId, "model-versions"],
    queryFn: async () =>
      listResults(await api<ModelVersion[] | Paginated<ModelVersion>>(`${base(projectId)}/model-versions`)),
  });

export const latestTrainingRunQuery = (projectId: number) =>
  queryOptions({
    queryKey: ["projects", projectId, "training-runs", "latest"],
    queryFn: async () => {
      const runs = listResults(await api<TrainingRun[] | Paginated<TrainingRun>>(`${base(projectId)}/training-runs?page_size=1`));
      return runs[0] ?? null;
    },
  });

export const trainingRunQuery = (projectId: number, runId: number) =>
  queryOptions({
    queryKey: ["projects", projectId, "training-runs", runId],
    queryFn: () => api<TrainingRun>(`${base(projectId)}/training-runs/${runId}`),
  });

export const rescoreQuery = (projectId: number) =>
  queryOptions({
    queryKey: ["projects", projectId, "rescore"],
    queryFn: () => api<RescoreJob | null>(`${base(projectId)}/rescore`),
  });

export const learningCurveQuery = (projectId: number) =>
  queryOptions({
    queryKey: ["projects", projectId, "learning-curve"],
    queryFn: () => api<LearningCurves>(`${base(projectId)}/learning-curve`),
  });

export const healthQuery = (projectId: number) =>
  queryOptions({
    queryKey: ["projects", projectId, "health"],
    queryFn: () => api<HealthReport>(`${base(projectId)}/health`),
  });

export const grantCredits = (projectId: number, amount: number, note: string) =>
  api<Balance>(`${base(projectId)}/credits/grant`, { method: "POST", body: { amount, note } });

export const startTraining = (projectId: number) =>
  api<TrainingRun>(`${base(projectId)}/train`, { method: "POST", body: {} });

export const addMember = (projectId: number, username: string, role: Membership["role"]) =>
  api<Membership>(`${base(projectId)}/members`, { method: "POST", body: { username, role } });

export const updateMember = (projectId: number, memberId: number, role: Membership["role"]) =>
  api<Membership>(`${base(projectId)}/members/${memberId}`, { method: "PATCH", body: { role } });

export const removeMember = (projectId: number, memberId: number) =>
  api<null>(`${base(projectId)}/members/${memberId}`, { method: "DELETE" });

/** Active users not in the project yet, matching `search` (admins only; at most 20). */
export const memberCandidatesQuery = (projectId: number, search: string) =>
  queryOptions({
    queryKey: ["projects", projectId, "member-candidates", search],
    queryFn: () => api<UserCandidate[]>(`${base(projectId)}/member-candidates?search=${encodeURIComponent(search)}`),
    staleTime: 30_000,
  });

interface OptionsMetadata {
  actions?: { POST?: { role?: { choices?: { value: string; display_name: string }[] } } };
}

/** The roles the server accepts, from its own field choices (OPTIONS), so a new role shows up here. */
export const roleChoicesQuery = (projectId: number) =>
  queryOptions({
    queryKey: ["projects", projectId, "member-roles"],
    queryFn: async (): Promise<Role[]> => {
      const metadata = await api<OptionsMetadata>(`${base(projectId)}/members`, { method: "OPTIONS" });
      return (metadata.actions?.POST?.role?.choices ?? []).map((choice) => choice.value as Role);
    },
    staleTime: Infinity,
  });

export const synthesisJobsQuery = (projectId: number) =>
  queryOptions({
    queryKey: ["projects", projectId, "synthesis"],
    queryFn: async () => (await api<{ results: SynthesisJob[] }>(`${base(projectId)}/synthesis`)).results,
  });

export const startSynthesis = (projectId: number, allowance: number) =>
  api<SynthesisJob>(`${base(projectId)}/synthesis`, { method: "POST", body: { allowance } });
