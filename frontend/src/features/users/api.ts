import { queryOptions } from "@tanstack/react-query";
import { api } from "../../api/client";
import type { Invite, Paginated, UserAdmin, UserCreateInput, UserUpdateInput } from "../../api/types";

export const usersQuery = (search: string, page: number) =>
  queryOptions({
    queryKey: ["users", { search, page }],
    queryFn: () => api<Paginated<UserAdmin>>(`/api/users?search=${encodeURIComponent(search)}&page=${page}`),
  });

export const createUser = (body: UserCreateInput) => api<Invite>("/api/users", { method: "POST", body });

export const updateUser = (userId: number, body: UserUpdateInput) =>
  api<UserAdmin>(`/api/users/${userId}`, { method: "PATCH", body });

export const resetPassword = (userId: number) => api<Invite>(`/api/users/${userId}/reset-password`, { method: "POST", body: {} });
