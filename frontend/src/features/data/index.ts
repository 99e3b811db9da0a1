// The data feature's public entry: what other features may use.
export { AnnotatorStatsPanel } from "./annotator-stats";
