// The auth feature's public entry: what other features may use.
export { useMe } from "./api";
