// SQL console: editor with the tables at hand, parameters, run/cancel,
// typed results, history, saved named queries (server-side), export and
// a one-click chart.
"use strict";
import { $, api, el, ident, isNumericType, sql, exportURL, resultTable, datasets, showError, toast, when } from "./api.js";

const HISTORY = "lakehouse.sql.history";
let running = null; // AbortController of the query in flight
let last = null; // the last result, for the chart
let loadedSaved = null; // the saved query being edited
let chart = null;

// The query on screen is in the address (#/sql?sql=…&p.city=Chicago&
// t.min_calls=number&saved=<id>): Run writes it, and an address with sql
// fills the editor and runs it (SQL here is read-only), so reload, a
// shared link, Back and Forward show the same query and its result.
let lastRun = null; // the address whose query ran last

// sqlHash writes the editor's query and parameters as an address.
function sqlHash() {
  const q = new URLSearchParams();
  const text = $("sql-editor").value;
  if (loadedSaved && text === loadedSaved.sql) q.set("saved", loadedSaved.id);
  q.set("sql", text);
  for (const p of readParams()) {
    q.append("p." + p.name, String(p.value ?? ""));
    if (p.type === "number") q.append("t." + p.name, "number");
  }
  return "#/sql?" + q.toString();
}

// paramsOf reads the p.<name> and t.<name> entries, in order.
function paramsOf(query) {
  const list = [];
  for (const [k, v] of query) {
    if (k.startsWith("p.")) list.push({ name: k.slice(2), type: "text", value: v });
    else if (k.startsWith("t.")) {
      const p = list.find((x) => x.name === k.slice(2));
      if (p && v === "number") { p.type = "number"; p.value = p.value === "" ? "" : Number(p.value); }
    }
  }
  return list;
}

// runHere runs the editor's query by writing its address (hashchange
// runs it), or at once when the address already says it; replace keeps
// the history entry (opening a saved query from a ?saved= link).
function runHere(replace) {
  const h = sqlHash();
  if (location.hash === h) run();
  else if (replace) { history.replaceState(null, "", h); run(); }
  else location.hash = h;
}

export async function show(args, query) {
  renderHistory();
  const [, saved] = await Promise.all([loadTables(), loadSaved()]);
  const want = query && query.get("saved");
  const q = want && (saved || []).find((x) => x.id === want);
  if (query && query.has("sql")) {
    if (location.hash === lastRun) return; // on screen already
    loadedSaved = q && q.sql === query.get("sql") ? q : null;
    $("sql-editor").value = query.get("sql");
    setParams(paramsOf(query));
    if (loadedSaved) $("save-name").value = loadedSaved.name;
    showSavedInfo();
    run();
  } else if (q) openSaved(q, true);
}

async function loadTables() {
  try {
    const list = await datasets();
    $("sql-schema").replaceChildren(...list.map((d) => el("li", {}, el("details", {},
      el("summary", {}, d.name),
      el("ul", { class: "cols plain" },
        el("li", {}, el("button", { type: "button", class: "link", onclick: () => insert(d.name) }, `insert ${d.name}`)),
        (d.schema || []).map((c) => el("li", {},
        el("button", { type: "button", class: "link", onclick: () => insert(c.name) }, c.name), " ", el("span", { class: "meta" }, c.type))))))));
  } catch (e) { showError("sql-error", e); }
}

function insert(text) {
  const ed = $("sql-editor");
  const s = ed.selectionStart ?? ed.value.length, e = ed.selectionEnd ?? s;
  ed.value = ed.value.slice(0, s) + text + ed.value.slice(e);
  ed.focus();
  ed.selectionStart = ed.selectionEnd = s + text.length;
}

// Parameters: one row per $n, with a name (kept when saved) and a value.
function setParams(list) {
  $("sql-params").replaceChildren(...list.map((p, i) => paramRow(p, i)));
}
function paramRow(p, i) {
  const n = i + 1;
  return el("div", { class: "param" },
    el("label", { for: `param-name-${n}` }, `$${n} name`),
    el("input", { id: `param-name-${n}`, class: "param-name", value: p.name || `p${n}`, size: 12 }),
    el("label", { for: `param-value-${n}` }, "value"),
    el("input", { id: `param-value-${n}`, class: "param-value", value: p.value ?? p.default ?? "", size: 18 }),
    el("label", { for: `param-type-${n}` }, "type"),
    el("select", { id: `param-type-${n}`, class: "param-type" },
      el("option", { value: "text", selected: p.type !== "number" }, "text"),
      el("option", { value: "number", selected: p.type === "number" }, "number")));
}
function readParams() {
  return [...$("sql-params").querySelectorAll(".param")].map((row) => {
    const type = row.querySelector(".param-type").value;
    const raw = row.querySelector(".param-value").value;
    return { name: row.querySelector(".param-name").value.trim(), type, value: type === "number" && raw !== "" ? Number(raw) : raw };
  });
}
$("param-add").addEventListener("click", () => {
  const list = readParams();
  list.push({ name: `p${list.length + 1}`, type: "text", value: "" });
  setParams(list);
  $(`param-value-${list.length}`).focus();
});

// clearResult takes the last result, its chart and its export links off
// the screen: what is shown must belong to the SQL in the editor, so a run
// starts from nothing and an error leaves nothing of the run before.
function clearResult() {
  last = null;
  const cap = $("sql-result").querySelector("caption");
  $("sql-result").replaceChildren(...(cap ? [cap] : []));
  if (chart) { chart.destroy(); chart = null; }
  $("chart").replaceChildren();
  $("chart-box").hidden = true;
  $("chart-caption").textContent = "";
  $("chart-bar").disabled = $("chart-line").disabled = true;
  for (const f of ["csv", "json", "parquet"]) {
    const a = $("sql-export-" + f);
    a.hidden = true;
    a.removeAttribute("href");
  }
}

async function run() {
  lastRun = location.hash;
  if (running) running.abort();
  const query = $("sql-editor").value;
  const params = readParams().map((p) => p.value);
  showError("sql-error", null);
  clearResult();
  $("sql-status").textContent = "running…";
  $("sql-cancel").disabled = false;
  running = new AbortController();
  const t0 = performance.now();
  try {
    const r = await sql(query, params, 1000, running.signal);
    last = r;
    resultTable($("sql-result"), r);
    const ms = r.elapsed_ms ?? Math.round(performance.now() - t0);
    $("sql-status").textContent = `${r.row_count.toLocaleString("en-US")} rows${r.truncated ? " (first 1,000 shown; export has all)" : ""} · ${ms} ms`;
    const chartable = chartColumns(r);
    $("chart-bar").disabled = $("chart-line").disabled = !chartable;
    for (const f of ["csv", "json", "parquet"]) {
      const a = $("sql-export-" + f);
      a.hidden = false;
      a.href = exportURL(query, params, f, loadedSaved ? loadedSaved.id : "query");
    }
    pushHistory(query);
  } catch (e) {
    if (e.name === "AbortError") $("sql-status").textContent = "cancelled";
    else { $("sql-status").textContent = ""; showError("sql-error", e); }
  } finally {
    running = null;
    $("sql-cancel").disabled = true;
  }
}
$("sql-run").addEventListener("click", () => runHere(false));
$("sql-cancel").addEventListener("click", () => { if (running) running.abort(); });
$("sql-editor").addEventListener("keydown", (e) => { if (e.key === "Enter" && (e.ctrlKey || e.metaKey)) { e.preventDefault(); runHere(false); } });

function pushHistory(q) {
  const h = JSON.parse(localStorage.getItem(HISTORY) || "[]").filter((x) => x !== q);
  h.unshift(q);
  localStorage.setItem(HISTORY, JSON.stringify(h.slice(0, 20)));
  renderHistory();
}
function renderHistory() {
  const h = JSON.parse(localStorage.getItem(HISTORY) || "[]");
  $("sql-history").replaceChildren(...h.map((q) => el("li", {},
    el("button", { type: "button", class: "link", onclick: () => { $("sql-editor").value = q; $("sql-editor").focus(); } }, q.length > 140 ? q.slice(0, 140) + "…" : q))));
}

// Saved queries live on the server so the whole team shares them. The
// server plans a query before it saves it, keeps every version, and
// refuses a save built on a version someone else has replaced since:
// the UI sends the version it loaded (0 for a new query) and says what
// happened, and deletes only after a confirmation.
let savedList = [];

async function loadSaved() {
  try {
    const r = await api("GET", "/v1/workbench/queries");
    savedList = r.queries || [];
    $("saved-queries").replaceChildren(...savedList.map((q) => el("li", {},
      el("button", { type: "button", class: "link saved-load", dataset: { id: q.id }, onclick: () => openSaved(q, false) }, q.name),
      el("div", { class: "meta" }, `v${q.version || 1} · ${q.updated_by || q.created_by || "?"} · ${when(q.updated_at)}`),
      q.description ? el("div", { class: "meta" }, q.description) : null)));
    if (!savedList.length) $("saved-queries").replaceChildren(el("li", { class: "meta" }, "none yet"));
    return savedList;
  } catch (e) {
    $("saved-queries").replaceChildren(el("li", { class: "meta" }, e.status === 404 ? "the workbench module is not running" : e.message));
  }
}

function openSaved(q, replace) {
  loadedSaved = q;
  $("sql-editor").value = q.sql;
  setParams((q.params || []).map((p) => ({ ...p, value: p.default })));
  $("save-name").value = q.name;
  $("save-status").textContent = "";
  showSavedInfo();
  runHere(replace);
}

// runAddress is GET /v1/workbench/queries/<id>/run with the parameter
// values on screen: a stable address for the saved query's result.
function runAddress(q, format) {
  const u = new URLSearchParams({ format });
  const names = new Set((q.params || []).map((p) => p.name));
  for (const p of readParams()) if (names.has(p.name) && p.value !== "") u.set(p.name === "format" || p.name === "limit" ? "p." + p.name : p.name, String(p.value));
  return `/v1/workbench/queries/${encodeURIComponent(q.id)}/run?` + u.toString();
}

function showSavedInfo() {
  const q = loadedSaved;
  $("saved-info").hidden = !q;
  if (!q) return;
  $("saved-info-title").textContent = `Saved query “${q.name}”`;
  $("saved-meta").textContent = `version ${q.version || 1} · saved by ${q.updated_by || "?"} at ${when(q.updated_at)}` +
    ` · owner ${q.created_by || q.updated_by || "?"} since ${when(q.created_at)}`;
  $("saved-run-json").href = runAddress(q, "json");
  $("saved-run-csv").href = runAddress(q, "csv");
  $("saved-delete").disabled = !!q.deleted;
  if (!$("saved-versions").hidden) loadHistory();
}
$("sql-params").addEventListener("input", () => { if (loadedSaved) { $("saved-run-json").href = runAddress(loadedSaved, "json"); $("saved-run-csv").href = runAddress(loadedSaved, "csv"); } });

async function loadHistory() {
  const q = loadedSaved;
  const list = $("saved-versions");
  try {
    const h = await api("GET", `/v1/workbench/queries/${encodeURIComponent(q.id)}/versions`);
    list.replaceChildren(...h.versions.map((v) => el("li", { dataset: { version: v.version } },
      el("strong", {}, `v${v.version}`), " ", el("span", { class: "meta" }, `${v.updated_by || "?"} · ${when(v.updated_at)}${v.version === h.current ? " · current" : ""}`),
      v.version === h.current ? null : el("button", { type: "button", class: "secondary restore", "aria-label": `Restore version ${v.version}`, onclick: () => restore(v.version) }, "Restore"),
      el("code", {}, v.sql.length > 400 ? v.sql.slice(0, 400) + "…" : v.sql))));
  } catch (e) { list.replaceChildren(el("li", { class: "msg error" }, e.message)); }
}

async function restore(version) {
  const q = loadedSaved;
  try {
    const r = await api("POST", `/v1/workbench/queries/${encodeURIComponent(q.id)}/restore`, { version });
    await loadSaved();
    openSaved(r, false); // clears the status: it is written after
    $("save-status").textContent = `restored version ${version} as version ${r.version}`;
    toast(`Restored “${r.name}”`);
  } catch (e) { $("save-status").textContent = e.message; }
}

$("saved-history").addEventListener("click", () => {
  const list = $("saved-versions");
  list.hidden = !list.hidden;
  $("saved-history").setAttribute("aria-expanded", String(!list.hidden));
  if (!list.hidden) loadHistory();
});

$("saved-delete").addEventListener("click", () => {
  const q = loadedSaved;
  $("delete-text").textContent = `“${q.name}” (version ${q.version || 1}, owner ${q.created_by || q.updated_by || "?"}) leaves the team's list. ` +
    "Its versions are kept: History can restore it.";
  $("delete-dialog").returnValue = "";
  $("delete-dialog").showModal();
});
$("delete-dialog").addEventListener("close", async () => {
  if ($("delete-dialog").returnValue !== "delete") return;
  const q = loadedSaved;
  try {
    await api("DELETE", `/v1/workbench/queries/${encodeURIComponent(q.id)}`);
    loadedSaved = { ...q, deleted: true };
    $("save-status").textContent = `deleted “${q.name}”; History can restore it`;
    toast(`Deleted “${q.name}”`);
    await loadSaved();
    showSavedInfo();
    $("saved-versions").hidden = false;
    $("saved-history").setAttribute("aria-expanded", "true");
    loadHistory();
  } catch (e) { $("save-status").textContent = e.message; }
});

function slug(s) {
  return s.toLowerCase().replace(/[^a-z0-9]+/g, "-").replace(/^-+|-+$/g, "").slice(0, 64) || "query";
}

$("save-form").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  const name = $("save-name").value.trim();
  if (!name) { $("save-status").textContent = "give the query a name"; $("save-name").focus(); return; }
  const editing = loadedSaved && !loadedSaved.deleted && loadedSaved.name === name;
  const id = editing ? loadedSaved.id : slug(name);
  const params = readParams().map((p) => ({ name: p.name, type: p.type, default: p.value }));
  $("save-status").textContent = "checking…";
  try {
    const q = await api("PUT", "/v1/workbench/queries/" + encodeURIComponent(id), {
      name, sql: $("sql-editor").value, params, base_version: editing ? (loadedSaved.version || 1) : 0,
      description: editing ? loadedSaved.description : undefined,
    });
    loadedSaved = q;
    $("save-status").textContent = q.changed ? `saved “${q.name}” as version ${q.version}` : "no change";
    toast(`Saved query “${q.name}”`);
    showSavedInfo();
    loadSaved();
  } catch (e) {
    const why = {
      invalid_query: "Not saved: ",
      version_conflict: "Not saved, someone saved a newer version: ",
      query_exists: "Not saved: ",
      query_gone: "Not saved: ",
    }[e.code] || "";
    $("save-status").textContent = why + e.message.replace(/^\d+ [a-z_]+: /, "");
    if (e.code === "version_conflict" || e.code === "query_gone") loadSaved(); // the list shows what is stored now
  }
});

// chartColumns finds a label column and the numeric columns to plot.
function chartColumns(r) {
  if (!r || r.rows.length < 2) return null;
  const nums = r.columns.map((c, i) => i).filter((i) => isNumericType(r.columns[i].type));
  const label = r.columns.findIndex((c) => !isNumericType(c.type));
  const series = nums.filter((i) => i !== label);
  if (!series.length) return null;
  return { label: label < 0 ? null : label, series };
}

function draw(kind) {
  const cc = chartColumns(last);
  if (!cc) return;
  const rows = last.rows.slice(0, 500);
  const labels = rows.map((r, i) => (cc.label === null ? String(i + 1) : String(r[cc.label])));
  const xs = rows.map((_, i) => i);
  const colors = ["#1d4ed8", "#b45309", "#047857", "#7c3aed", "#be123c"];
  const box = $("chart");
  box.replaceChildren();
  $("chart-box").hidden = false;
  const width = Math.max(320, Math.min(box.parentElement.clientWidth - 24, 1100));
  // Bars of at most two series sit side by side (left and right of the tick).
  const series = kind === "bar" ? cc.series.slice(0, 2) : cc.series;
  const bar = (k) => window.uPlot.paths.bars({ size: [series.length > 1 ? 0.4 : 0.7, 80], align: series.length > 1 ? (k ? 1 : -1) : 0 });
  const n = rows.length;
  if (chart) chart.destroy();
  chart = new window.uPlot({
    width, height: 340,
    scales: { x: { time: false, range: [-0.6, n - 0.4] } },
    axes: [{ values: (u, splits) => splits.map((s) => (Number.isInteger(s) ? labels[s] ?? "" : "")), rotate: n > 6 ? -35 : 0, size: n > 6 ? 90 : 40,
      splits: n <= 40 ? () => xs : undefined, gap: 4 }, {}],
    series: [{ label: cc.label === null ? "#" : last.columns[cc.label].name, value: (u, v) => labels[v] ?? "" },
      ...series.map((i, k) => ({
        label: last.columns[i].name, stroke: colors[k % colors.length], width: 2,
        fill: kind === "bar" ? colors[k % colors.length] + "cc" : undefined,
        paths: kind === "bar" ? bar(k) : undefined, points: { show: kind !== "bar" },
      }))],
  }, [xs, ...series.map((i) => rows.map((r) => (r[i] === null ? null : Number(r[i]))))], box);
  const svgText = `${kind} chart of ${series.map((i) => last.columns[i].name).join(", ")} by ${cc.label === null ? "row" : last.columns[cc.label].name}`;
  box.setAttribute("role", "img");
  box.setAttribute("aria-label", svgText);
  $("chart-caption").textContent = svgText + (last.rows.length > 500 ? " (first 500 rows)" : "");
}
$("chart-bar").addEventListener("click", () => draw("bar"));
$("chart-line").addEventListener("click", () => draw("line"));
