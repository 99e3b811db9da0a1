import { MutationCache, QueryCache, QueryClient, QueryClientProvider } from "@tanstack/react-query";
import { useState } from "react";
import { RouterProvider } from "react-router";
import { ApiError } from "../api/client";
import { createAppRouter } from "./routes";

/** The session ended (expired, or logged out in another tab): the auth guard then sends us to /login. */
export function isLoggedOut(error: unknown): boolean {
  return error instanceof ApiError && (error.status === 401 || error.code === "not_authenticated");
}

function makeQueryClient() {
  const onError = (error: unknown) => {
    if (isLoggedOut(error)) client.setQueryData(["auth", "me"], null);
  };
  const client: QueryClient = new QueryClient({
    queryCache: new QueryCache({ onError }),
    mutationCache: new MutationCache({ onError }),
    defaultOptions: {
      queries: {
        // 4xx answers are final (not found, forbidden, not available yet): don't retry them.
        retry: (count, error) => !(error instanceof ApiError && error.status >= 400 && error.status < 500) && count < 2,
        refetchOnWindowFocus: false,
        staleTime: 5_000,
      },
    },
  });
  return client;
}

export function App() {
  const [queryClient] = useState(makeQueryClient);
  const [router] = useState(createAppRouter);
  return (
    <QueryClientProvider client={queryClient}>
      <RouterProvider router={router} />
    </QueryClientProvider>
  );
}
