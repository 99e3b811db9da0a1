import { queryOptions, useQuery } from "@tanstack/react-query";
import { api, listResults } from "../../api/client";
import type { LabelClass, Paginated, Project, ProjectCreateInput, ProjectStats } from "../../api/types";

export const projectsQuery = queryOptions({
  queryKey: ["projects"],
  queryFn: async () => listResults(await api<Paginated<Project> | Project[]>("/api/projects")),
});

/** Archived projects: hidden from the default list, restorable by their admins. */
export const archivedProjectsQuery = queryOptions({
  queryKey: ["projects", "archived"],
  queryFn: async () => listResults(await api<Paginated<Project> | Project[]>("/api/projects?archived=true")),
});

export const createProject = (body: ProjectCreateInput) => api<Project>("/api/projects", { method: "POST", body });

export const projectQuery = (projectId: number) =>
  queryOptions({
    queryKey: ["projects", projectId],
    queryFn: () => api<Project>(`/api/projects/${projectId}`),
  });

export const classesQuery = (projectId: number) =>
  queryOptions({
    queryKey: ["projects", projectId, "classes"],
    queryFn: async () => listResults(await api<LabelClass[] | Paginated<LabelClass>>(`/api/projects/${projectId}/classes`)),
  });

export const statsQuery = (projectId: number) =>
  queryOptions({
    queryKey: ["projects", projectId, "stats"],
    queryFn: () => api<ProjectStats>(`/api/projects/${projectId}/stats`),
  });

export const useProjects = () => useQuery(projectsQuery);
export const useProject = (projectId: number) => useQuery(projectQuery(projectId));
export const useClasses = (projectId: number) => useQuery(classesQuery(projectId));
export const useStats = (projectId: number) => useQuery(statsQuery(projectId));

/** Pages each role may open, in the order shown on the project card. */
export type ProjectPage = "label" | "verify" | "upload" | "data" | "review" | "admin-ui";

export function pagesForRole(role: Project["my_role"]): ProjectPage[] {
  switch (role) {
    case "admin":
      return ["label", "verify", "upload", "data", "review", "admin-ui"];
    case "annotator":
      return ["label", "upload"];
    case "verifier":
      return ["verify"];
    case "reviewer":
      return ["review", "data"];
    default:
      return [];
  }
}

export const PAGE_TITLES: Record<ProjectPage, string> = {
  label: "Label",
  verify: "Verify",
  upload: "Upload",
  data: "Data",
  review: "Review",
  "admin-ui": "Admin",
};
