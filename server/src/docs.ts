/**
 * The /docs page: plain HTML rendered on the server from the same OpenAPI document that
 * /openapi.json serves. No scripts and nothing loaded from elsewhere (so it works offline,
 * inside a mesh, under a strict Content-Security-Policy). Pure.
 */

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };
type Obj = { [k: string]: Json };

const esc = (s: string) =>
  s.replace(/[&<>"']/g, (ch) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[ch]!);

/** Minimal inline markdown of the descriptions: `code` only. */
const text = (s: unknown) => (typeof s === "string" ? esc(s).replace(/`([^`]+)`/g, "<code>$1</code>") : "");

const METHODS = ["get", "put", "post", "delete", "patch", "head", "options"];

function schemaHtml(schema: Json | undefined): string {
  if (schema === undefined) return "";
  const ref = (schema as Obj)?.["$ref"];
  if (typeof ref === "string") {
    const name = ref.split("/").pop()!;
    return `<a href="#schema-${esc(name)}"><code>${esc(name)}</code></a>`;
  }
  return `<pre>${esc(JSON.stringify(schema, null, 2))}</pre>`;
}

export function renderDocs(doc: Obj): string {
  const info = (doc.info ?? {}) as Obj;
  const paths = (doc.paths ?? {}) as Record<string, Obj>;
  const parts: string[] = [];
  const toc: string[] = [];
  for (const [path, item] of Object.entries(paths)) {
    for (const method of METHODS) {
      const op = item[method] as Obj | undefined;
      if (!op) continue;
      const id = `op-${method}-${path.replace(/[^A-Za-z0-9]+/g, "-")}`;
      toc.push(`<li><a href="#${id}"><span class="m ${method}">${method.toUpperCase()}</span> ${esc(path)}</a> ${text(op.summary)}</li>`);
      const rows: string[] = [];
      rows.push(`<h3 id="${id}"><span class="m ${method}">${method.toUpperCase()}</span> <code>${esc(path)}</code></h3>`);
      if (op.summary) rows.push(`<p><strong>${text(op.summary)}</strong></p>`);
      if (op.description) rows.push(`<p>${text(op.description)}</p>`);
      const schemes = Array.isArray(op.security) ? op.security.flatMap((r) => Object.keys(r as Obj)) : [];
      if (schemes.includes("bearerAuth")) rows.push(`<p class="sec">Requires a bearer token (checked by the gateway).</p>`);
      if (schemes.includes("introspectionClient")) rows.push(`<p class="sec">Requires the gateway's client credentials (HTTP Basic).</p>`);
      const params = (op.parameters ?? []) as Obj[];
      if (params.length > 0) {
        rows.push("<table><tr><th>parameter</th><th>in</th><th>description</th></tr>");
        for (const p of params) rows.push(`<tr><td><code>${esc(String(p.name))}</code></td><td>${esc(String(p.in))}</td><td>${text(p.description ?? (p.schema as Obj)?.description)}</td></tr>`);
        rows.push("</table>");
      }
      const body = (op.requestBody as Obj | undefined)?.content as Record<string, Obj> | undefined;
      if (body) {
        for (const [type, media] of Object.entries(body)) rows.push(`<p>Request body (<code>${esc(type)}</code>): ${schemaHtml(media.schema)}</p>`);
      }
      rows.push("<table><tr><th>status</th><th>meaning</th><th>body</th></tr>");
      for (const [status, r] of Object.entries((op.responses ?? {}) as Record<string, Obj>)) {
        const content = r.content as Record<string, Obj> | undefined;
        const bodies = content ? Object.entries(content).map(([t, m]) => `<code>${esc(t)}</code> ${schemaHtml(m.schema)}`).join("<br>") : "";
        rows.push(`<tr><td>${esc(status)}</td><td>${text(r.description)}</td><td>${bodies}</td></tr>`);
      }
      rows.push("</table>");
      parts.push(`<section>${rows.join("\n")}</section>`);
    }
  }
  const schemas = ((doc.components as Obj | undefined)?.schemas ?? {}) as Obj;
  const schemaParts = Object.entries(schemas).map(
    ([name, s]) => `<section><h3 id="schema-${esc(name)}"><code>${esc(name)}</code></h3>${(s as Obj)?.description ? `<p>${text((s as Obj).description)}</p>` : ""}<pre>${esc(JSON.stringify(s, null, 2))}</pre></section>`,
  );
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${esc(String(info.title ?? "API"))}</title>
<style>
body{font:15px/1.5 system-ui,sans-serif;max-width:62rem;margin:2rem auto;padding:0 1rem;color:#1a1a1a}
code,pre{font:13px ui-monospace,monospace}pre{background:#f5f5f5;padding:.6rem;overflow:auto;max-height:24rem}
table{border-collapse:collapse;width:100%;margin:.5rem 0}td,th{border:1px solid #ddd;padding:.3rem .5rem;text-align:left;vertical-align:top}
.m{display:inline-block;min-width:3.6rem;font:600 12px ui-monospace,monospace;color:#fff;border-radius:3px;padding:1px 4px;text-align:center}
.get{background:#2b6cb0}.post{background:#2f855a}.put,.patch{background:#b7791f}.delete{background:#c53030}
section{border-top:1px solid #eee;margin-top:1.2rem}.sec{color:#555;font-size:13px}ul{padding-left:1.2rem}
</style></head><body>
<h1>${esc(String(info.title ?? "API"))} <small>${esc(String(info.version ?? ""))}</small></h1>
<p>${text(info.description)}</p>
<p>Machine-readable: <a href="/openapi.json">/openapi.json</a> (OpenAPI ${esc(String(doc.openapi ?? ""))}).</p>
<h2>Operations</h2><ul>${toc.join("\n")}</ul>
${parts.join("\n")}
<h2>Schemas</h2>
${schemaParts.join("\n")}
</body></html>`;
}
