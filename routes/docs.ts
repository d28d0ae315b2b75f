import { escapeHtml } from "./pages/render.ts";
type Json = Record<string, unknown>;

const esc = escapeHtml;

/** A one-line description of a JSON Schema: type, enum values, pattern, bounds, default. */
function describe(s: Json): string {
  const parts: string[] = [];
  if (Array.isArray(s.enum)) parts.push(`one of ${s.enum.map((v) => `<code>${esc(v)}</code>`).join(", ")}`);
  else if (s.type) parts.push(esc(Array.isArray(s.type) ? s.type.join(" | ") : s.type));
  if (s.pattern) parts.push(`pattern <code>${esc(s.pattern)}</code>`);
  if (s.minimum !== undefined) parts.push(`≥ ${esc(s.minimum)}`);
  if (s.maximum !== undefined) parts.push(`≤ ${esc(s.maximum)}`);
  if (s.default !== undefined) parts.push(`default <code>${esc(JSON.stringify(s.default))}</code>`);
  if (s.description) parts.push(esc(s.description));
  return parts.join("; ");
}

/**
 * The /docs page: the OpenAPI document rendered as plain HTML on the server (no script, nothing fetched from other
 * hosts), grouped by tag, with each parameter's constraints and each body's JSON Schema.
 */
export function docsPage(doc: Json): string {
  const info = doc.info as Json;
  const byTag = new Map<string, string[]>();
  for (const [path, ops] of Object.entries(doc.paths as Record<string, Record<string, Json>>)) {
    for (const [method, op] of Object.entries(ops)) {
      const params = (op.parameters as Json[] | undefined) ?? [];
      const rows = params.map((p) =>
        `<tr><td><code>${esc(p.name)}</code></td><td>${esc(p.in)}</td><td>${p.required ? "yes" : ""}</td>` +
        `<td>${describe(p.schema as Json)}</td></tr>`
      ).join("");
      const body = (op.requestBody as Json | undefined)?.content as Record<string, Json> | undefined;
      const responses = Object.entries(op.responses as Record<string, Json>).map(([code, r]) => {
        const schema = (r.content as Record<string, Json> | undefined)?.["application/json"]?.schema;
        const shown = schema && !(schema as Json).$ref
          ? `<details><summary>schema</summary><pre>${esc(JSON.stringify(schema, null, 2))}</pre></details>`
          : "";
        return `<li><b>${esc(code)}</b> ${esc(r.description)}${shown}</li>`;
      }).join("");
      const html = `<section class="op" id="${esc(op.operationId)}">
<h3><span class="m ${esc(method)}">${esc(method.toUpperCase())}</span> <code>${esc(path)}</code></h3>
<p>${esc(op.summary)}</p>
${rows ? `<table><thead><tr><th>name</th><th>in</th><th>required</th><th>accepts</th></tr></thead>${rows}</table>` : ""}
${
        body
          ? `<details><summary>request body (JSON)</summary><pre>${
            esc(JSON.stringify(body["application/json"]?.schema, null, 2))
          }</pre></details>`
          : ""
      }
<ul class="responses">${responses}</ul></section>`;
      const tag = String((op.tags as string[] | undefined)?.[0] ?? "other");
      (byTag.get(tag) ?? byTag.set(tag, []).get(tag)!).push(html);
    }
  }
  const nav = [...byTag.keys()].map((t) => `<a href="#tag-${esc(t)}">${esc(t)}</a>`).join(" · ");
  const sections = [...byTag].map(([t, ops]) => `<h2 id="tag-${esc(t)}">${esc(t)}</h2>${ops.join("\n")}`).join("\n");
  return `<!doctype html><html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${esc(info.title)} — API reference</title>
<style>
:root{color-scheme:light dark;font-family:system-ui,sans-serif;line-height:1.5}
body{max-width:60rem;margin:0 auto;padding:1rem}
code,pre{font-family:ui-monospace,monospace;font-size:.9em}
pre{overflow:auto;padding:.5rem;background:color-mix(in srgb,currentColor 6%,transparent)}
table{border-collapse:collapse;width:100%}td,th{border-bottom:1px solid #8884;padding:.25rem .5rem;text-align:left;vertical-align:top}
.op{border-top:1px solid #8886;padding:.5rem 0}
.m{display:inline-block;min-width:4.5em;text-align:center;border-radius:.25rem;color:#fff;font-size:.8em;padding:.1em .3em}
.get{background:#1f6feb}.post{background:#1a7f37}.put{background:#9a6700}.delete{background:#cf222e}
</style></head><body>
<h1>${esc(info.title)}</h1>
<p>${esc(info.description)}</p>
<p>Machine-readable: <a href="/api/v1/openapi.json">/api/v1/openapi.json</a> (OpenAPI ${esc(doc.openapi)}).
Errors are <code>{"error":{"code","message","issues?"}}</code>. Writes need the identity cookie plus the
<code>X-Breadboard-CSRF: 1</code> header, or <code>Authorization: Bearer bbt_…</code>.</p>
<nav>${nav}</nav>
${sections}
</body></html>`;
}
