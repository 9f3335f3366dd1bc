"""Self-contained HTML page that renders the served OpenAPI document.

Served at ``GET /docs``. Everything (styles and the small renderer) is inline
because the page must work on an offline laptop running ``chalice local``:
no CDN, no web fonts, no external scripts. The renderer builds the DOM with
``textContent`` only, so nothing from the document is ever parsed as HTML.
"""

from __future__ import annotations

import html
import json
import re

__all__ = ["render_docs_html"]

_PLACEHOLDER = re.compile(r"__(TITLE|SPEC_HREF|SPEC_TEXT|SPEC_JSON)__")

_PAGE = """<!doctype html>
<html lang="ko">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>__TITLE__</title>
<style>
  :root { --fg:#1d2330; --muted:#667085; --line:#e4e7ec; --blue:#3556d4; --red:#c4302b; --green:#2f7d4f; }
  body { margin:0; color:var(--fg); background:#f8f9fb; font:15px/1.5 system-ui, -apple-system,
         "Apple SD Gothic Neo", "Malgun Gothic", "Noto Sans KR", sans-serif; }
  header { padding:20px 28px; background:#fff; border-bottom:1px solid var(--line); }
  header h1 { margin:0 0 4px; font-size:22px; }
  header p { margin:4px 0; color:var(--muted); white-space:pre-wrap; }
  main { max-width:1040px; margin:0 auto; padding:12px 28px 60px; }
  nav a { margin-right:12px; color:var(--blue); text-decoration:none; }
  h2 { margin:28px 0 10px; font-size:18px; }
  h4 { margin:14px 0 6px; font-size:13px; text-transform:uppercase; color:var(--muted); }
  details.op { background:#fff; border:1px solid var(--line); border-radius:8px; margin:8px 0; }
  details.op > summary { cursor:pointer; padding:10px 14px; display:flex; gap:10px; align-items:center; }
  .badge { font:700 12px/1 monospace; color:#fff; padding:5px 8px; border-radius:4px; min-width:62px;
           text-align:center; background:#555; }
  .get { background:var(--green); } .post { background:var(--blue); } .put { background:#a35c00; }
  .patch { background:#7a4fc9; } .delete { background:var(--red); }
  code, .path, .type, .status { font-family:ui-monospace, SFMono-Regular, Menlo, monospace; font-size:13px; }
  .path { font-weight:600; } .summary { color:var(--muted); flex:1; }
  .body { padding:4px 16px 14px; border-top:1px solid var(--line); }
  table { border-collapse:collapse; width:100%; font-size:14px; }
  td, th { text-align:left; padding:4px 8px; border-bottom:1px solid var(--line); vertical-align:top; }
  ul.fields { list-style:none; margin:0; padding-left:18px; border-left:2px solid var(--line); }
  .type { color:var(--blue); } .req { color:var(--red); font-weight:700; }
  .hint { color:var(--muted); font-size:13px; }
  .status { font-weight:700; margin-right:8px; } .ok { color:var(--green); } .err { color:var(--red); }
</style>
</head>
<body>
<header>
  <h1 id="title">__TITLE__</h1>
  <p id="intro">Loading <a href="__SPEC_HREF__"><code>__SPEC_TEXT__</code></a> …</p>
</header>
<main id="app"></main>
<script>
"use strict";
const SPEC_URL = __SPEC_JSON__;
const METHODS = ["get", "put", "post", "delete", "options", "head", "patch", "trace"];

// Build elements from text only: document content never reaches innerHTML.
function h(tag, cls, ...kids) {
  const el = document.createElement(tag);
  if (cls) el.className = cls;
  for (const kid of kids.flat()) {
    if (kid === null || kid === undefined || kid === false) continue;
    el.append(kid instanceof Node ? kid : String(kid));
  }
  return el;
}

let DOC = {};
function refName(ref) { return ref.split("/").pop().replace(/~1/g, "/").replace(/~0/g, "~"); }
// A reference's own description stands for its target's (OpenAPI 3.1).
function resolved(raw) { return raw && raw.$ref && raw.description ? Object.assign({}, resolve(raw), { description: raw.description }) : resolve(raw); }
function resolve(s) {
  let guard = 0;
  while (s && s.$ref && guard++ < 20) {
    let node = DOC;
    for (const part of s.$ref.replace(/^#\\//, "").split("/")) {
      node = node ? node[part.replace(/~1/g, "/").replace(/~0/g, "~")] : undefined;
    }
    if (!node) break;
    s = node;
  }
  return s || {};
}

function typeLabel(s) {
  if (!s) return "any";
  if (s.$ref) return resolve(s).title || refName(s.$ref);
  const alts = s.anyOf || s.oneOf;
  if (alts) return alts.map(typeLabel).join(" | ");
  if (s.allOf && s.allOf.length === 1) return typeLabel(s.allOf[0]);
  if (s.const !== undefined) return JSON.stringify(s.const);
  if (s.type === "array") return typeLabel(s.items) + "[]";
  if (Array.isArray(s.type)) return s.type.join(" | ");
  if (s.type === "object" && s.additionalProperties && typeof s.additionalProperties === "object") {
    return "map of " + typeLabel(s.additionalProperties);
  }
  return (s.type || "any") + (s.format ? " (" + s.format + ")" : "");
}

function constraints(s) {
  const out = [];
  const add = (key, label) => { if (s[key] !== undefined) out.push(label + " " + JSON.stringify(s[key])); };
  add("minimum", "≥"); add("exclusiveMinimum", ">"); add("maximum", "≤"); add("exclusiveMaximum", "<");
  add("minLength", "min length"); add("maxLength", "max length");
  add("minItems", "min items"); add("maxItems", "max items"); add("pattern", "pattern");
  if (s.enum) out.push("one of " + s.enum.map((v) => JSON.stringify(v)).join(", "));
  add("default", "default");
  if (s.readOnly) out.push("read-only");
  if (s.deprecated) out.push("deprecated");
  return out.join(" · ");
}

// The object schema worth expanding under a field: unwraps $ref, arrays and nullable unions.
function nestedObject(s, seen) {
  if (!s) return null;
  if (s.$ref) {
    if (seen.has(s.$ref)) return null;
    const target = resolve(s);
    return target.properties ? { schema: target, ref: s.$ref } : nestedObject(target, seen);
  }
  if (s.type === "array") return nestedObject(s.items, seen);
  const alts = (s.anyOf || s.oneOf || s.allOf || []).filter((a) => a.type !== "null");
  if (alts.length === 1) return nestedObject(alts[0], seen);
  return s.properties ? { schema: s, ref: null } : null;
}

function fieldList(schema, seen) {
  const s = resolve(schema);
  const props = s.properties || {};
  const required = new Set(s.required || []);
  const list = h("ul", "fields");
  for (const [name, raw] of Object.entries(props)) {
    const prop = raw.$ref ? Object.assign({}, resolve(raw), raw) : raw;
    const li = h("li", null, h("code", null, name), required.has(name) ? h("span", "req", " *") : null,
      " ", h("span", "type", typeLabel(raw)));
    const hints = constraints(prop);
    if (hints) li.append(" ", h("span", "hint", hints));
    if (prop.description) li.append(h("div", "hint", prop.description));
    const nested = nestedObject(raw, seen);
    if (nested && seen.size < 12) {
      const next = new Set(seen);
      if (nested.ref) next.add(nested.ref);
      li.append(fieldList(nested.schema, next));
    }
    list.append(li);
  }
  if (!Object.keys(props).length) list.append(h("li", "type", typeLabel(schema)));
  return list;
}

function schemaBlock(schema) {
  const root = schema.$ref ? new Set([schema.$ref]) : new Set();
  const top = resolve(schema);
  const label = h("div", null, h("span", "type", typeLabel(schema)));
  if (top.description) label.append(h("div", "hint", top.description));
  const nested = nestedObject(schema, new Set());
  return h("div", null, label, nested ? fieldList(nested.schema, root) : null);
}

function parametersTable(params) {
  const rows = params.map((raw) => {
    const p = resolved(raw);
    const s = p.schema || {};
    return h("tr", null, h("td", null, h("code", null, p.name), p.required ? h("span", "req", " *") : null),
      h("td", "hint", p.in), h("td", "type", typeLabel(s)),
      h("td", null, h("div", "hint", constraints(resolve(s))), p.description || ""));
  });
  return h("table", null, h("tr", null, ["name", "in", "type", "notes"].map((t) => h("th", null, t))), rows);
}

function responsesList(responses) {
  return Object.entries(responses).map(([code, raw]) => {
    const r = resolved(raw);
    const content = r.content || {};
    const types = Object.keys(content);
    const line = [h("span", "status " + (Number(code) < 400 ? "ok" : "err"), code), r.description || "",
      types.length ? h("span", "hint", "  " + types.join(", ")) : null];
    const schemas = types.filter((t) => content[t].schema).map((t) => schemaBlock(content[t].schema));
    return schemas.length ? h("details", null, h("summary", null, line), schemas) : h("div", null, line);
  });
}

function operation(path, method, op) {
  const secured = (op.security || DOC.security || []).some((req) => Object.keys(req).length > 0);
  const badge = h("span", "badge " + method, method.toUpperCase());
  const summary = h("summary", null, badge, h("span", "path", path), h("span", "summary", op.summary || ""),
    secured ? h("span", null, "🔒") : null);
  const body = h("div", "body");
  if (op.description) body.append(h("p", null, op.description));
  body.append(h("div", "hint", "operationId: ", h("code", null, op.operationId || "—"),
    secured ? " · Authorization: Bearer token required" : " · no authentication"));
  const params = (op.parameters || []);
  if (params.length) body.append(h("h4", null, "Parameters"), parametersTable(params));
  const reqBody = op.requestBody && resolve(op.requestBody);
  if (reqBody && reqBody.content) {
    for (const [type, media] of Object.entries(reqBody.content)) {
      body.append(h("h4", null, "Request body · " + type), media.schema ? schemaBlock(media.schema) : "");
    }
  }
  body.append(h("h4", null, "Responses"), ...responsesList(op.responses || {}));
  return h("details", "op", summary, body);
}

function render(doc) {
  DOC = doc;
  const info = doc.info || {};
  document.title = (info.title || "API") + " " + (info.version || "");
  document.getElementById("title").textContent = (info.title || "API") + " · " + (info.version || "");
  const intro = document.getElementById("intro");
  intro.textContent = (info.description ? info.description + "\\n" : "") + "OpenAPI " + doc.openapi + " · ";
  intro.append(h("a", null, h("code", null, SPEC_URL)));
  intro.lastChild.href = SPEC_URL;

  const groups = new Map((doc.tags || []).map((t) => [t.name, []]));
  for (const [path, item] of Object.entries(doc.paths || {})) {
    for (const method of METHODS) {
      if (!item[method]) continue;
      for (const tag of item[method].tags || ["other"]) {
        if (!groups.has(tag)) groups.set(tag, []);
        groups.get(tag).push(operation(path, method, item[method]));
      }
    }
  }
  const app = document.getElementById("app");
  const nav = h("nav", null);
  app.replaceChildren(nav);
  for (const [tag, ops] of groups) {
    if (!ops.length) continue;
    const id = "tag-" + tag.replace(/[^A-Za-z0-9_-]/g, "_");
    const link = h("a", null, tag);
    link.href = "#" + id;
    nav.append(link);
    const heading = h("h2", null, tag);
    heading.id = id;
    app.append(heading, ...ops);
  }
}

fetch(SPEC_URL, { headers: { Accept: "application/json" } })
  .then((r) => { if (!r.ok) throw new Error("HTTP " + r.status); return r.json(); })
  .then(render)
  .catch((e) => {
    document.getElementById("app").replaceChildren(
      h("p", "err", "Could not load " + SPEC_URL + ": " + e.message));
  });
</script>
</body>
</html>
"""


def render_docs_html(spec_url: str = "/openapi.json", title: str = "Dongne API") -> str:
    """Return the docs page that fetches and renders ``spec_url``.

    ``title`` and ``spec_url`` are escaped for each context they land in: HTML
    text/attributes via ``html.escape`` and the inline script via JSON with
    ``<``, ``>`` and ``&`` turned into ``\\u`` escapes, so a value containing
    ``</script>`` cannot close the script element.
    """
    values = {
        "TITLE": html.escape(title),
        "SPEC_HREF": html.escape(spec_url, quote=True),
        "SPEC_TEXT": html.escape(spec_url),
        # ensure_ascii also covers U+2028/U+2029, which older engines reject in literals
        "SPEC_JSON": json.dumps(spec_url)
        .replace("<", "\\u003c")
        .replace(">", "\\u003e")
        .replace("&", "\\u0026"),
    }
    # One pass, so a placeholder-looking value is never substituted a second time.
    return _PLACEHOLDER.sub(lambda m: values[m.group(1)], _PAGE)
