import assert from "node:assert/strict";
import { splitStatements } from "./sql.ts";

Deno.test("splitStatements splits at top-level semicolons and drops empty statements", () => {
  assert.deepEqual(splitStatements("SELECT 1;\n\nSELECT 2 ;  ;\n"), ["SELECT 1", "SELECT 2"]);
  assert.deepEqual(splitStatements("SELECT 3"), ["SELECT 3"]);
  assert.deepEqual(splitStatements("  \n-- only a comment\n"), []);
});

Deno.test("splitStatements keeps semicolons inside strings, quoted names and comments", () => {
  const script = [
    "-- header; not a statement",
    "CREATE TABLE t (`a;b` String DEFAULT 'x;y', c String DEFAULT 'it\\'s; fine') ENGINE = Memory;",
    '/* block; comment */ INSERT INTO t VALUES ("q;");',
  ].join("\n");
  assert.deepEqual(splitStatements(script), [
    "-- header; not a statement\nCREATE TABLE t (`a;b` String DEFAULT 'x;y', c String DEFAULT 'it\\'s; fine') ENGINE = Memory",
    '/* block; comment */ INSERT INTO t VALUES ("q;")',
  ]);
});

Deno.test("splitStatements splits every shipped migration into idempotent DDL statements", async () => {
  const dir = new URL("../schema/clickhouse/", import.meta.url);
  for await (const f of Deno.readDir(dir)) {
    const statements = splitStatements(await Deno.readTextFile(new URL(f.name, dir)));
    assert.ok(statements.length >= 1, f.name);
    for (const s of statements) {
      assert.match(s, /CREATE TABLE IF NOT EXISTS|ALTER TABLE \w+ ADD COLUMN IF NOT EXISTS/, f.name);
    }
  }
});
