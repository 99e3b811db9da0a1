// The admin feature's public entry: what other features may use.
export { membersQuery } from "./api";
