import { useQueryClient } from "@tanstack/react-query";
import { useCallback, useEffect, useState } from "react";
import type { AnnotationSubmitInput, QueueNext } from "../../api/types";
import { reserveNext, skipImage, submitAnnotation } from "./api";
import { clearDraft } from "./drafts";
import { prefetchNextImages } from "./prefetch";

export type SessionState =
  | { status: "loading" }
  | { status: "ready"; current: QueueNext; shownAt: number }
  | { status: "stopped"; error: unknown };

/**
 * One annotator's pass through the queue: the current reservation, submit and
 * skip; the files of the images likely to come next are fetched in advance, and
 * the unsaved draft of an image is dropped once it is submitted or skipped.
 */
export function useLabelSession(projectId: number) {
  const queryClient = useQueryClient();
  const [state, setState] = useState<SessionState>({ status: "loading" });
  const [busy, setBusy] = useState(false);
  const [actionError, setActionError] = useState<unknown>(null);

  // State is set only once the reservation answers (in its callbacks), so the mount effect may call this.
  const load = useCallback(
    () =>
      reserveNext(projectId)
        .then((next) => {
          setState({ status: "ready", current: next, shownAt: performance.now() });
          queryClient.setQueryData(["projects", projectId, "balance"], next.balance);
          void prefetchNextImages(projectId, next.image.id);
        })
        .catch((error: unknown) => setState({ status: "stopped", error })),
    [projectId, queryClient],
  );

  // Another project: back to loading while rendering, so its page never shows the old reservation.
  const [sessionProjectId, setSessionProjectId] = useState(projectId);
  if (sessionProjectId !== projectId) {
    setSessionProjectId(projectId);
    setState({ status: "loading" });
  }

  useEffect(() => {
    void load();
  }, [load]);

  const submit = useCallback(
    async (payload: Omit<AnnotationSubmitInput, "image" | "seconds_spent">) => {
      if (state.status !== "ready" || busy) return;
      setBusy(true);
      setActionError(null);
      const seconds = Math.round((performance.now() - state.shownAt) / 100) / 10;
      try {
        await submitAnnotation(projectId, { ...payload, image: state.current.image.id, seconds_spent: seconds });
        clearDraft(projectId, state.current.image.id);
        void queryClient.invalidateQueries({ queryKey: ["projects", projectId, "stats"] });
        void queryClient.invalidateQueries({ queryKey: ["projects"], exact: true });
        await load();
      } catch (error) {
        setActionError(error);
      } finally {
        setBusy(false);
      }
    },
    [busy, load, projectId, queryClient, state],
  );

  const skip = useCallback(async () => {
    if (state.status !== "ready" || busy) return;
    setBusy(true);
    setActionError(null);
    try {
      await skipImage(projectId, state.current.image.id);
      clearDraft(projectId, state.current.image.id);
      await load();
    } catch (error) {
      setActionError(error);
    } finally {
      setBusy(false);
    }
  }, [busy, load, projectId, state]);

  const retry = useCallback(() => {
    setActionError(null);
    setState({ status: "loading" });
    void load();
  }, [load]);

  return { state, busy, actionError, submit, skip, retry };
}
