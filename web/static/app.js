// lakehouse web UI: plain JS over the /v1 API. Every call sends the bearer
// token from the header field (kept in this browser's localStorage).
"use strict";
const $ = (id) => document.getElementById(id);
const tokenInput = $("token");
tokenInput.value = localStorage.getItem("lakehouse.token") || "";
tokenInput.addEventListener("change", () => { localStorage.setItem("lakehouse.token", tokenInput.value); refresh(); });

// api calls the server and throws an Error carrying the server's message.
async function api(method, path, body, raw) {
  const headers = {};
  if (tokenInput.value) headers["Authorization"] = "Bearer " + tokenInput.value;
  let payload = body;
  if (body !== undefined && !raw) { headers["Content-Type"] = "application/json"; payload = JSON.stringify(body); }
  const resp = await fetch(path, { method, headers, body: payload });
  const text = await resp.text();
  let data = null;
  try { data = text ? JSON.parse(text) : null; } catch (_) { data = text; }
  if (!resp.ok) {
    const msg = data && data.error ? `${resp.status} ${data.error.code}: ${data.error.message}` : `${resp.status}: ${text}`;
    throw new Error(msg);
  }
  return data;
}

function el(tag, attrs, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (k.startsWith("on")) e.addEventListener(k.slice(2), v); else e.setAttribute(k, v);
  }
  for (const c of children) e.append(c instanceof Node ? c : document.createTextNode(c == null ? "" : String(c)));
  return e;
}

function fill(table, header, rows) {
  table.replaceChildren(el("thead", {}, el("tr", {}, ...header.map((h) => el("th", {}, h)))),
    el("tbody", {}, ...rows.map((r) => el("tr", {}, ...r.map((c) => el("td", typeof c === "number" ? { class: "num" } : {}, typeof c === "object" && c !== null && !(c instanceof Node) ? JSON.stringify(c) : c))))));
}

function showError(id, err) { $(id).textContent = err ? err.message || String(err) : ""; }

// Tabs.
for (const b of document.querySelectorAll("nav button")) {
  b.addEventListener("click", () => selectTab(b.dataset.tab));
}
function selectTab(name) {
  for (const b of document.querySelectorAll("nav button")) b.classList.toggle("active", b.dataset.tab === name);
  for (const s of document.querySelectorAll(".tab")) s.classList.toggle("active", s.id === "tab-" + name);
  if (name === "search") loadIndexes();
  if (name === "memory") loadMemoryStats();
}

async function health() {
  const h = $("health");
  try {
    const r = await fetch("/health");
    const d = await r.json();
    h.textContent = `${d.status} · ${d.version}`; h.className = "pill ok";
  } catch (e) { h.textContent = "down"; h.className = "pill bad"; }
}

// Datasets.
async function loadDatasets() {
  const body = $("datasets").querySelector("tbody");
  try {
    const data = await api("GET", "/v1/catalog/list");
    const list = Array.isArray(data) ? data : (data.datasets || []);
    body.replaceChildren(...list.map((d) => el("tr", {},
      el("td", {}, el("a", { onclick: () => showManifest(d.name) }, d.name)),
      el("td", { class: "num" }, d.version ?? ""), el("td", { class: "num" }, d.row_count ?? ""),
      el("td", {}, d.updated_at || d.created_at || ""),
      el("td", {}, el("a", { onclick: () => { $("sql").value = `SELECT * FROM ${d.name} LIMIT 100`; selectTab("sql"); runSQL(); } }, "query")))));
    showError("ingest-result", null);
  } catch (e) { body.replaceChildren(); $("ingest-result").className = "msg error"; showError("ingest-result", e); }
}

async function showManifest(name) {
  try {
    const m = await api("GET", "/v1/catalog/manifest/" + encodeURIComponent(name));
    const t = el("table", {});
    fill(t, ["column", "type", "nullable"], (m.schema || []).map((c) => [c.name, c.type, c.nullable ? "yes" : "no"]));
    $("manifest").replaceChildren(el("h3", {}, `${m.name} v${m.version} · ${m.row_count} rows`), t);
  } catch (e) { $("manifest").textContent = e.message; }
}

$("ingest-form").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  const out = $("ingest-result");
  const file = $("ingest-file").files[0];
  const fd = new FormData();
  fd.append("file", file);
  let path = "/v1/ingest?name=" + encodeURIComponent($("ingest-name").value);
  if ($("ingest-mode").value) path += "&mode=" + $("ingest-mode").value;
  out.className = "msg"; out.textContent = "uploading…";
  try {
    const m = await api("POST", path, fd, true);
    out.className = "msg ok"; out.textContent = `${m.name} v${m.version}: ${m.row_count} rows`;
    loadDatasets();
  } catch (e) { out.className = "msg error"; out.textContent = e.message; }
});

// SQL.
async function runSQL() {
  showError("sql-error", null);
  $("sql-meta").textContent = "running…";
  try {
    const r = await api("POST", "/v1/sql", { sql: $("sql").value, limit: 1000 });
    fill($("sql-result"), r.columns.map((c) => `${c.name} (${c.type})`), r.rows);
    $("sql-meta").textContent = `${r.row_count} rows${r.truncated ? " (truncated)" : ""} · ${r.elapsed_ms ?? "?"} ms`;
  } catch (e) { $("sql-result").replaceChildren(); $("sql-meta").textContent = ""; showError("sql-error", e); }
}
$("run-sql").addEventListener("click", runSQL);
$("sql").addEventListener("keydown", (e) => { if (e.key === "Enter" && (e.ctrlKey || e.metaKey)) runSQL(); });

// Search.
async function loadIndexes() {
  try {
    const data = await api("GET", "/v1/vectors/index");
    const list = Array.isArray(data) ? data : (data.indexes || []);
    const sel = $("search-index");
    const cur = sel.value;
    sel.replaceChildren(...list.map((i) => el("option", { value: i.name }, `${i.name} (${i.length ?? 0})`)));
    if (cur) sel.value = cur;
  } catch (e) { showError("search-error", e); }
}
$("run-search").addEventListener("click", async () => {
  showError("search-error", null);
  try {
    const body = { text: $("search-text").value, k: Number($("search-k").value) || 10 };
    if ($("search-filter").value.trim()) body.filter = JSON.parse($("search-filter").value);
    const r = await api("POST", "/v1/vectors/index/" + encodeURIComponent($("search-index").value) + "/search", body);
    fill($("search-result"), ["id", "distance", "metadata"], (r.results || []).map((x) => [x.id, Number(x.distance).toFixed(4), x.metadata || {}]));
  } catch (e) { $("search-result").replaceChildren(); showError("search-error", e); }
});

// Memory.
async function loadMemoryStats() {
  try {
    const s = await api("GET", "/v1/pathway/stats");
    $("memory-stats").textContent = `${s.total} traces · ${s.active} active · ${s.retired} retired`;
  } catch (e) { showError("memory-error", e); }
}
$("run-memory").addEventListener("click", async () => {
  showError("memory-error", null);
  try {
    const r = await api("POST", "/v1/pathway/search", { text: $("memory-text").value, limit: 50 });
    const list = Array.isArray(r) ? r : (r.traces || r.results || []);
    fill($("memory-result"), ["uid", "tags", "content", "created"], list.map((t) => {
      const tr = t.trace || t;
      return [tr.uid, (tr.tags || []).join(", "), tr.content, tr.created_at_ns ? new Date(tr.created_at_ns / 1e6).toISOString() : ""];
    }));
  } catch (e) { $("memory-result").replaceChildren(); showError("memory-error", e); }
});

function refresh() { health(); loadDatasets(); }
refresh();
