export * from "./store.ts";
export * from "./open.ts";
export * from "./migrate.ts";
export * from "./sql.ts";
