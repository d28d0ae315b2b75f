/**
 * The deployment files, checked where they can be without a container runtime: every Kubernetes manifest against
 * the Kubernetes schemas (kubernetes-models), compose.yaml and the Dockerfile for what operators rely on, and every
 * setting they pass against schema/env.ts.
 */
import assert from "node:assert/strict";
import { parseAllDocuments } from "yaml";
import { ConfigMap } from "kubernetes-models/v1/ConfigMap";
import { Secret } from "kubernetes-models/v1/Secret";
import { Service } from "kubernetes-models/v1/Service";
import { Deployment } from "kubernetes-models/apps/v1/Deployment";
import { StatefulSet } from "kubernetes-models/apps/v1/StatefulSet";
import { HorizontalPodAutoscaler } from "kubernetes-models/autoscaling/v2/HorizontalPodAutoscaler";
import { envSchema } from "../schema/env.ts";

const ROOT = new URL("../", import.meta.url);
const MODELS: Record<string, new (data: never) => { validate(): void }> = {
  "v1/ConfigMap": ConfigMap,
  "v1/Secret": Secret,
  "v1/Service": Service,
  "apps/v1/Deployment": Deployment,
  "apps/v1/StatefulSet": StatefulSet,
  "autoscaling/v2/HorizontalPodAutoscaler": HorizontalPodAutoscaler,
};
/** Variables a deployment may set besides the app's own: Deno's KV Connect token. */
const KNOWN_ENV = new Set([...Object.keys(envSchema.shape), "DENO_KV_ACCESS_TOKEN", "DENO_DIR", "NO_COLOR"]);

type Doc = {
  apiVersion: string;
  kind: string;
  metadata: { name: string };
  spec?: Record<string, unknown>;
  data?: Record<string, string>;
  stringData?: Record<string, string>;
};

async function manifests(): Promise<Doc[]> {
  const out: Doc[] = [];
  for await (const f of Deno.readDir(new URL("k8s/", ROOT))) {
    if (!f.name.endsWith(".yaml")) continue;
    for (const d of parseAllDocuments(await Deno.readTextFile(new URL(`k8s/${f.name}`, ROOT)))) {
      assert.deepEqual(d.errors, [], f.name);
      out.push(d.toJSON() as Doc);
    }
  }
  return out;
}

Deno.test("every Kubernetes manifest validates against the Kubernetes schemas, and the web tier scales and probes", async () => {
  const docs = await manifests();
  for (const d of docs) {
    const Model = MODELS[`${d.apiVersion}/${d.kind}`];
    assert.ok(Model, `no schema for ${d.apiVersion} ${d.kind} (${d.metadata.name})`);
    new Model(d as never).validate();
  }
  const find = (kind: string, name: string) => docs.find((d) => d.kind === kind && d.metadata.name === name)!;
  // deno-lint-ignore no-explicit-any
  const web = find("Deployment", "breadboard-web") as any;
  const container = web.spec.template.spec.containers[0];
  assert.equal(container.readinessProbe.httpGet.path, "/api/v1/health/ready");
  assert.equal(container.livenessProbe.httpGet.path, "/api/v1/health/live");
  assert.deepEqual(container.command.slice(-1), ["web.ts"]);
  assert.ok(!container.command.some((a: string) => /allow-(write|ffi|run)|allow-all|-A$/.test(a)), "web runs narrow");
  // deno-lint-ignore no-explicit-any
  const hpa = find("HorizontalPodAutoscaler", "breadboard-web") as any;
  assert.deepEqual(hpa.spec.scaleTargetRef, { apiVersion: "apps/v1", kind: "Deployment", name: "breadboard-web" });
  assert.ok(
    find("StatefulSet", "breadboard-ingest") && find("StatefulSet", "nats") && find("StatefulSet", "clickhouse"),
  );
  // Keys in Secrets, not in ConfigMaps; every variable is one the app reads.
  const config = find("ConfigMap", "breadboard");
  const secret = find("Secret", "breadboard");
  for (const k of [...Object.keys(config.data ?? {}), ...Object.keys(secret.stringData ?? {})]) {
    assert.ok(KNOWN_ENV.has(k), `unknown setting ${k}`);
  }
  for (const k of Object.keys(config.data ?? {})) assert.doesNotMatch(k, /PASSWORD|KEY|TOKEN|SMTP_URL/, k);
  assert.ok("CLICKHOUSE_PASSWORD" in (secret.stringData ?? {}));
});

Deno.test("compose.yaml brings up ClickHouse, NATS with JetStream, one ingest and two web instances behind a WebSocket proxy", async () => {
  // YAML merge keys (<<) as compose reads them.
  const [doc] = parseAllDocuments(await Deno.readTextFile(new URL("compose.yaml", ROOT)), { merge: true });
  assert.deepEqual(doc!.errors, []);
  // deno-lint-ignore no-explicit-any
  const compose = doc!.toJS() as any;
  const s = compose.services;
  assert.deepEqual(Object.keys(s).sort(), ["clickhouse", "ingest", "nats", "proxy", "web-1", "web-2"]);
  assert.ok(s.nats.command.includes("-js"), "JetStream on");
  assert.equal(s.ingest.environment.ROLE, "ingest");
  assert.equal(s["web-1"].environment.ROLE, "web");
  assert.equal(s["web-2"].environment.ROLE, "web");
  for (const [name, svc] of Object.entries<Record<string, unknown>>(s)) {
    // The image declares its own health check; every other service declares one here.
    assert.ok(svc.healthcheck || svc.build, `${name} has no health check`);
  }
  assert.equal(s.ingest.depends_on.nats.condition, "service_healthy");
  assert.equal(s.ingest.depends_on.clickhouse.condition, "service_healthy");
  assert.equal(s["web-1"].depends_on.ingest.condition, "service_healthy");
  for (const v of ["clickhouse-data", "nats-data", "ingest-data", "kv"]) assert.ok(v in compose.volumes, v);
  for (const name of ["ingest", "web-1", "web-2"]) {
    for (const k of Object.keys(s[name].environment)) assert.ok(KNOWN_ENV.has(k), `${name}: unknown setting ${k}`);
    assert.equal(s[name].environment.FEED, s.ingest.environment.FEED, "web and ingest read one namespace");
  }
  const nginx = await Deno.readTextFile(new URL("deploy/nginx.conf", ROOT));
  assert.match(nginx, /proxy_set_header Upgrade \$http_upgrade;/);
  assert.match(nginx, /proxy_set_header X-Forwarded-Proto \$scheme;/);
  assert.match(nginx, /server web-1:8000[\s\S]*server web-2:8000/);
});

Deno.test("the Dockerfile builds in stages, runs as a non-root user, checks health and serves either role", async () => {
  const text = await Deno.readTextFile(new URL("Dockerfile", ROOT));
  const stages = [...text.matchAll(/^FROM \S+ AS (\w+)$/gm)].map((m) => m[1]);
  assert.deepEqual(stages, ["deps", "build", "runtime"]);
  const runtime = text.slice(text.indexOf("AS runtime"));
  const user = /^USER (\S+)$/m.exec(runtime)?.[1];
  assert.ok(user && user !== "root" && user !== "0", `runtime user ${user}`);
  assert.match(runtime, /^HEALTHCHECK .*\n?.*\/api\/v1\/health\/live/m);
  assert.match(runtime, /^EXPOSE 8000$/m);
  assert.match(runtime, /^CMD \["deno", "run".*"main\.ts"\]$/m, "ROLE from the environment picks the role");
  for (const m of runtime.matchAll(/^\s*([A-Z_]+)=/gm)) assert.ok(KNOWN_ENV.has(m[1]!), `unknown ENV ${m[1]}`);
  assert.doesNotMatch(text, /PASSWORD|API_KEY|TOKEN/, "no secrets baked into the image");
  // The path the image copies Deno's binary from is where npm puts it (the same layout `npx deno` uses here).
  assert.match(text, /cp \/opt\/deno\/node_modules\/@deno\/linux-x64-glibc\/deno /);
  const ignored = await Deno.readTextFile(new URL(".dockerignore", ROOT));
  for (const p of ["node_modules", "data", ".env"]) {
    assert.match(ignored, new RegExp(`^${p.replace(".", "\\.")}$`, "m"));
  }
});
