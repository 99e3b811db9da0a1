// The label feature's public entry: what other features may use.
export { ClassPicker } from "./class-picker";
export { isTypingTarget } from "./shortcuts";
