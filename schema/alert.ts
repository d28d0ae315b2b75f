import { z } from "zod";
import { RULE_KINDS, WINDOWS } from "./rule.ts";

/** One alert raised by a rule. */
export const alertSchema = z.object({
  /** Deterministic: rule, symbol and the tick that crossed, so a replay raises the same id. */
  id: z.string(),
  time: z.number().int(),
  symbol: z.string(),
  ruleId: z.string(),
  userId: z.string(),
  kind: z.enum(RULE_KINDS),
  window: z.enum(WINDOWS).or(z.literal("")),
  /** What a person reads: "AAPL fell 5.2% in 15 min to 291.40". */
  message: z.string(),
  price: z.number(),
  changePercent: z.number(),
});

/** One alert raised by a rule. */
export type Alert = z.infer<typeof alertSchema>;
