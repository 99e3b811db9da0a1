import { api } from "../../api/client";
import type { AnnotationSubmitInput, QueueNext } from "../../api/types";

export const reserveNext = (projectId: number) =>
  api<QueueNext>(`/api/projects/${projectId}/queue/next`, { method: "POST", body: {} });

export const skipImage = (projectId: number, imageId: number) =>
  api<unknown>(`/api/projects/${projectId}/queue/skip`, { method: "POST", body: { image: imageId } });

export const submitAnnotation = (projectId: number, body: AnnotationSubmitInput) =>
  api<unknown>(`/api/projects/${projectId}/annotations`, { method: "POST", body });
