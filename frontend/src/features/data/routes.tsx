import { DataBrowserPage } from "./data-browser-page";
import { ReviewPage } from "./review-page";

/** The data browser and the review queue, for the app's routes (admins and reviewers). */
export const dataRoutes = [
  { path: "/projects/:projectId/data", element: <DataBrowserPage /> },
  { path: "/projects/:projectId/review", element: <ReviewPage /> },
];
