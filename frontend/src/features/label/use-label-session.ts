import { useQueryClient } from "@tanstack/react-query";
import { useCallback, useEffect, useMemo, useRef, useState } from "react";
import type { AnnotationSubmitInput, QueueNext } from "../../api/types";
import { preloadImage, reserveNext, skipImage, submitAnnotation } from "./api";
import { QueueLookahead } from "./queue-lookahead";

export type SessionState =
  | { status: "loading" }
  | { status: "ready"; current: QueueNext; shownAt: number }
  | { status: "stopped"; error: unknown };

/**
 * One annotator's pass through the queue: the current reservation, submit and
 * skip, and a one-image lookahead so the switch is instant.
 */
export function useLabelSession(projectId: number) {
  const queryClient = useQueryClient();
  const [state, setState] = useState<SessionState>({ status: "loading" });
  const [busy, setBusy] = useState(false);
  const [actionError, setActionError] = useState<unknown>(null);
  const lookahead = useMemo(
    () => new QueueLookahead<QueueNext>(() => reserveNext(projectId), preloadImage),
    [projectId],
  );
  const currentRef = useRef<QueueNext | null>(null);

  const show = useCallback(
    async (finishedImageId: number | null) => {
      try {
        const next = await lookahead.take(finishedImageId);
        currentRef.current = next;
        setState({ status: "ready", current: next, shownAt: performance.now() });
        queryClient.setQueryData(["projects", projectId, "balance"], next.balance);
        lookahead.prefetch();
      } catch (error) {
        currentRef.current = null;
        setState({ status: "stopped", error });
      }
    },
    [lookahead, projectId, queryClient],
  );

  useEffect(() => {
    let cancelled = false;
    setState({ status: "loading" });
    lookahead.reset();
    lookahead
      .take(null)
      .then((first) => {
        if (cancelled) return;
        currentRef.current = first;
        setState({ status: "ready", current: first, shownAt: performance.now() });
        lookahead.prefetch();
      })
      .catch((error: unknown) => {
        if (!cancelled) setState({ status: "stopped", error });
      });
    return () => {
      cancelled = true;
    };
  }, [lookahead]);

  const submit = useCallback(
    async (payload: Omit<AnnotationSubmitInput, "image" | "seconds_spent">) => {
      if (state.status !== "ready" || busy) return;
      setBusy(true);
      setActionError(null);
      const imageId = state.current.image.id;
      const seconds = Math.round((performance.now() - state.shownAt) / 100) / 10;
      try {
        await submitAnnotation(projectId, { ...payload, image: imageId, seconds_spent: seconds });
        void queryClient.invalidateQueries({ queryKey: ["projects", projectId, "stats"] });
        void queryClient.invalidateQueries({ queryKey: ["projects"], exact: true });
        await show(imageId);
      } catch (error) {
        setActionError(error);
      } finally {
        setBusy(false);
      }
    },
    [busy, projectId, queryClient, show, state],
  );

  const skip = useCallback(async () => {
    if (state.status !== "ready" || busy) return;
    setBusy(true);
    setActionError(null);
    const imageId = state.current.image.id;
    try {
      await skipImage(projectId, imageId);
      await show(imageId);
    } catch (error) {
      setActionError(error);
    } finally {
      setBusy(false);
    }
  }, [busy, projectId, show, state]);

  const retry = useCallback(() => {
    setState({ status: "loading" });
    void show(null);
  }, [show]);

  return { state, busy, actionError, submit, skip, retry };
}
