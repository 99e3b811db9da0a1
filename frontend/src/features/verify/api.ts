import { api } from "../../api/client";
import type { VerificationInput, VerificationNext } from "../../api/types";

/** The next prediction to verify, or null when there is none (204 or 409). */
export async function fetchNextVerification(projectId: number): Promise<VerificationNext | null> {
  try {
    const data = await api<VerificationNext | null>(`/api/projects/${projectId}/verifications/next`);
    return data && data.prediction ? data : null;
  } catch (error) {
    if (error instanceof Error && "status" in error && (error as { status: number }).status === 409) return null;
    throw error;
  }
}

export const recordVerification = (projectId: number, body: VerificationInput) =>
  api<unknown>(`/api/projects/${projectId}/verifications`, { method: "POST", body });
