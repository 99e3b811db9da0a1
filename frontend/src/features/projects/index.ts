// The projects feature's public entry: what other features may use.
export { archivedProjectsQuery, classesQuery, useClasses, useProject, useStats } from "./api";
