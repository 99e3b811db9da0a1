import { lazy, Suspense } from "react";
import { createBrowserRouter, Navigate } from "react-router";
import { LoginPage } from "../features/auth/login-page";
import { ProjectListPage } from "../features/projects/project-list-page";
import { NewProjectPage } from "../features/projects/new-project-page";
import { UsersPage } from "../features/users/users-page";
import { SetPasswordPage } from "../features/auth/set-password-page";
import { LabelPage } from "../features/label/label-page";
import { VerifyPage } from "../features/verify/verify-page";
import { UploadPage } from "../features/upload/upload-page";
import { dataRoutes } from "../features/data/routes";
import { AppLayout } from "./app-layout";
import { RequireAuth } from "./require-auth";
import { NotFoundPage } from "./not-found-page";
import { Spinner } from "../components/spinner";

// The admin page carries the charting library: load it only when opened.
const AdminPage = lazy(() => import("../features/admin/admin-page").then((m) => ({ default: m.AdminPage })));

/** Client routes. Django serves index.html for each of these paths. */
export const routes = [
  { path: "/login", element: <LoginPage /> },
  { path: "/set-password", element: <SetPasswordPage /> },
  {
    element: (
      <RequireAuth>
        <AppLayout />
      </RequireAuth>
    ),
    children: [
      { path: "/", element: <Navigate to="/projects" replace /> },
      { path: "/projects", element: <ProjectListPage /> },
      { path: "/projects/:projectId/label", element: <LabelPage /> },
      { path: "/projects/:projectId/verify", element: <VerifyPage /> },
      { path: "/projects/new", element: <NewProjectPage /> },
      { path: "/users", element: <UsersPage /> },
      { path: "/projects/:projectId/admin-ui/:tab?", element: (
          <Suspense fallback={<Spinner label="Loading" />}>
            <AdminPage />
          </Suspense>
        ),
      },
      { path: "/projects/:projectId/upload", element: <UploadPage /> },
      ...dataRoutes,
      { path: "*", element: <NotFoundPage /> },
    ],
  },
];

export const createAppRouter = () => createBrowserRouter(routes);
