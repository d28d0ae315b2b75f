/**
 * `deno task backup <dir>`: backs up the running single-process instance (ROLE=all or ingest, embedded store) into
 * `<dir>`, through its loopback-only admin endpoint. DATA_DIR (default ./data) holds the admin token; PORT (default
 * 8000) is where the instance listens. Restore with `deno task restore <dir> <new DATA_DIR>`.
 */
import { join, resolve } from "node:path";

const [target] = Deno.args;
if (!target) {
  console.error("usage: deno task backup <backup dir>");
  Deno.exit(2);
}
const dataDir = Deno.env.get("DATA_DIR") || "./data";
const port = Deno.env.get("PORT") || "8000";
let token: string;
try {
  token = (await Deno.readTextFile(join(dataDir, "admin-token"))).trim();
} catch {
  console.error(`no admin token in ${dataDir}/admin-token: is DATA_DIR the running instance's?`);
  Deno.exit(2);
}
const started = performance.now();
const res = await fetch(`http://127.0.0.1:${port}/api/v1/admin/backup`, {
  method: "POST",
  headers: { Authorization: `Bearer ${token}`, "Content-Type": "application/json" },
  body: JSON.stringify({ dir: resolve(target) }),
}).catch((err) => {
  console.error(`no instance answers on 127.0.0.1:${port} (${err}); set PORT`);
  Deno.exit(1);
});
const body = await res.json();
if (!res.ok) {
  console.error(`backup failed: ${body?.error?.message ?? res.status}`);
  Deno.exit(1);
}
console.log(JSON.stringify({ ...body, seconds: Math.round(performance.now() - started) / 1000 }));
