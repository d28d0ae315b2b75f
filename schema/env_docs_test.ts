import assert from "node:assert/strict";
import { envSchema, parseEnv } from "./env.ts";
import { ENV_DOCS, renderEnvExample } from "./env_docs.ts";

Deno.test(".env.example is what schema/env.ts generates, documents every variable, and parses as is", async () => {
  const file = await Deno.readTextFile(new URL("../.env.example", import.meta.url));
  assert.equal(file, renderEnvExample(), "stale .env.example: run `deno task env-example`");
  assert.deepEqual(Object.keys(ENV_DOCS).sort(), Object.keys(envSchema.shape).sort());
  const env: Record<string, string> = {};
  for (const line of file.split("\n")) {
    const m = /^([A-Z_]+)=(.*)$/.exec(line);
    if (m) env[m[1]!] = m[2]!;
  }
  for (const name of Object.keys(envSchema.shape)) {
    assert.ok(file.includes(`${name}=`), `${name} missing from .env.example`);
  }
  // The example's values are the defaults: parsing it gives the configuration an empty environment gives.
  assert.deepEqual(parseEnv(env), parseEnv({}));
});
