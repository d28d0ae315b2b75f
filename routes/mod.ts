export * from "./app.ts";
export * from "./errors.ts";
