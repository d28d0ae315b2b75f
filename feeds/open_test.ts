import assert from "node:assert/strict";
import { ConfigError, parseEnv } from "../schema/env.ts";
import { openFeed } from "./open.ts";

Deno.test("FEED=replay refuses a REPLAY_FILE that is not a readable file, before reading anything", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const deps = { sink: { tick: () => {}, reject: () => {} }, log: () => {} };
    for (const file of [`${dir}/missing.jsonl`, dir]) {
      const config = parseEnv({ FEED: "replay", REPLAY_FILE: file });
      await assert.rejects(openFeed(config, deps), (err: Error) => {
        assert.ok(err instanceof ConfigError);
        assert.equal(err.message, `REPLAY_FILE ${file} is not a readable file`);
        return true;
      });
    }
    await Deno.writeTextFile(`${dir}/ok.jsonl`, "");
    const feed = await openFeed(parseEnv({ FEED: "replay", REPLAY_FILE: `${dir}/ok.jsonl` }), deps);
    assert.equal(typeof feed.start, "function");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
