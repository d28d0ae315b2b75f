import { keys } from "../actors/keys.ts";
import type { Logger } from "../schema/log.ts";

/** The job name the OHLCV fetch runs under, in Deno.cron and job_runs. */
export const OHLCV_JOB = "ohlcv_fetch";

/** Options of {@link scheduleJob}. */
export interface ScheduleOptions {
  kv: Deno.Kv;
  /** Name in Deno.cron and of the KV lock. */
  name: string;
  /** Five-field cron expression, UTC. */
  schedule: string;
  /** The work; it must finish or fail within `lockMs`. */
  run: () => Promise<void>;
  /** How long a run holds the lock (default 30 min); a crashed holder's lock expires after it. */
  lockMs?: number;
  /** Registers the handler (default Deno.cron). */
  cron?: (name: string, schedule: string, handler: () => Promise<void>) => unknown;
  log?: Logger;
}

/** A registered job: `trigger()` runs it now under the same lock (start-up, tests). */
export interface ScheduledJob {
  /** Runs the job unless another run (in any process sharing the KV) holds the lock; false when it was held. */
  trigger(): Promise<boolean>;
}

/**
 * Registers `run` with Deno.cron at `schedule`. Every process of a deployment registers it; a KV lock taken
 * atomically (absent or expired) makes exactly one of them do the work each time, and the others skip.
 */
export function scheduleJob(o: ScheduleOptions): ScheduledJob {
  const lockMs = o.lockMs ?? 30 * 60_000;
  const holder = crypto.randomUUID();
  const trigger = async (): Promise<boolean> => {
    const key = keys.jobLock(o.name);
    const now = Date.now();
    const cur = await o.kv.get<{ holder: string; until: number }>(key);
    if (cur.value && cur.value.until > now) {
      o.log?.("info", "scheduled job skipped: another run holds the lock", { job: o.name });
      return false;
    }
    const took = await o.kv.atomic().check(cur).set(key, { holder, until: now + lockMs }, { expireIn: lockMs })
      .commit();
    if (!took.ok) return false;
    try {
      await o.run();
    } catch (err) {
      o.log?.("error", "scheduled job failed", { job: o.name, error: String(err) });
    } finally {
      const mine = await o.kv.get<{ holder: string }>(key);
      if (mine.value?.holder === holder) await o.kv.atomic().check(mine).delete(key).commit();
    }
    return true;
  };
  const cron = o.cron ?? ((name, schedule, handler) => Deno.cron(name, schedule, handler));
  cron(o.name, o.schedule, async () => {
    await trigger();
  });
  return { trigger };
}
