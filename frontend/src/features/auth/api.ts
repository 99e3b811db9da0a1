import { queryOptions, useQuery, useQueryClient } from "@tanstack/react-query";
import { api, ApiError } from "../../api/client";
import type { User } from "../../api/types";

export const meQuery = queryOptions({
  queryKey: ["auth", "me"],
  queryFn: async (): Promise<User | null> => {
    try {
      return await api<User>("/api/auth/me");
    } catch (error) {
      if (error instanceof ApiError && (error.status === 401 || error.status === 403)) return null;
      throw error;
    }
  },
  staleTime: 60_000,
});

export function useMe() {
  return useQuery(meQuery);
}

export async function login(username: string, password: string): Promise<User> {
  await api<unknown>("/api/auth/csrf"); // sets the csrftoken cookie before the first write
  return api<User>("/api/auth/login", { method: "POST", body: { username, password } });
}

export function useLogout() {
  const queryClient = useQueryClient();
  return async () => {
    try {
      await api<unknown>("/api/auth/logout", { method: "POST", body: {} });
    } finally {
      queryClient.clear();
      queryClient.setQueryData(meQuery.queryKey, null);
    }
  };
}
