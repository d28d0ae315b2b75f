/** The one structured log line writer every stage takes. */

/** Severity of a log line. */
export type LogLevel = "info" | "warn" | "error";

/** Writes one structured log line: a message and its fields. */
export type Logger = (level: LogLevel, msg: string, fields?: Record<string, unknown>) => void;
