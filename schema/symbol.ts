import { z } from "zod";

/**
 * What a ticker symbol may look like: 1-20 of A-Z, 0-9 and `. - ^ =`.
 *
 * Covers equities (BRK.B), indices (^GSPC), currencies (EURUSD=X), futures (ES=F) and crypto (BTC-USD).
 * Anything else (spaces, slashes, quotes, semicolons) is rejected, so a symbol is always safe in a URL path,
 * a KV key and a log line.
 */
export const SYMBOL_PATTERN = /^[A-Z0-9^][A-Z0-9.\-^=]{0,19}$/;

/** A ticker symbol; input is trimmed and upper-cased before it is checked against {@link SYMBOL_PATTERN}. */
export const symbolSchema = z
  .string()
  .trim()
  .toUpperCase()
  .regex(SYMBOL_PATTERN, {
    error: "a ticker symbol is 1-20 characters of A-Z, 0-9 and . - ^ = (for example AAPL, BRK.B, ^GSPC, BTC-USD)",
  });

/** A ticker symbol after validation. */
export type Symbol = z.infer<typeof symbolSchema>;
