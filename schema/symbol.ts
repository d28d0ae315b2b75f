import { z } from "zod";

import { SYMBOL_PATTERN } from "./symbol_pattern.ts";

export { SYMBOL_PATTERN } from "./symbol_pattern.ts";

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
