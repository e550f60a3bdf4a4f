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
let chartKind = null; // the kind of chart on screen, so ticking a series redraws it

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
  chartKind = null;
  $("chart").replaceChildren();
  $("chart-series").hidden = true;
  $("chart-series-list").replaceChildren();
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
    if (chartable) fillSeriesPicker(r, chartable);
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

const COLORS = ["#1d4ed8", "#b45309", "#047857", "#7c3aed", "#be123c"];

// fillSeriesPicker offers every numeric column of the result as a series
// (a checkbox each): the first numeric column is not always the one worth
// plotting, and two that differ in magnitude get an axis each. Up to five
// start ticked, one per colour.
function fillSeriesPicker(r, cc) {
  const list = $("chart-series-list");
  list.replaceChildren(...cc.series.map((i, k) => el("label", {},
    el("input", { type: "checkbox", value: String(i), checked: k < COLORS.length, onchange: () => { if (chartKind) draw(chartKind); } }),
    " ", r.columns[i].name)));
  $("chart-series").hidden = false;
}
const pickedSeries = () => [...$("chart-series-list").querySelectorAll("input:checked")].map((x) => Number(x.value));

// fmtNum writes an axis value for its magnitude: 1.2k, 3.4M, 0.25 — as
// many decimals as the tick step needs and no more, so labels stay short
// (full digits with thousands separators were what overflowed the axis).
const UNITS = [[1e12, "T"], [1e9, "B"], [1e6, "M"], [1e3, "k"]];
function fmtNum(v, step) {
  if (v === null || v === undefined || !Number.isFinite(v)) return "";
  if (v === 0) return "0";
  const a = Math.abs(v);
  const [div, unit] = UNITS.find(([d]) => a >= d) || [1, ""];
  const st = Math.abs(step || 0) / div;
  const digits = st > 0 ? Math.min(4, Math.max(0, Math.ceil(-Math.log10(st) - 1e-9))) : (div > 1 ? 1 : 2);
  return (v / div).toLocaleString("en-US", { maximumFractionDigits: digits }) + unit;
}

// fitAxis sizes a y axis to its widest label (measured in the axis's own
// font): uPlot's fixed 50 px cut "120,000" down to "0,000".
function fitAxis(u, values, i, cycle) {
  const axis = u.axes[i];
  if (cycle > 1 && axis._size) return axis._size; // settled; avoid re-layout loops
  u.ctx.font = axis.font[0];
  const widest = Math.max(0, ...(values || []).map((v) => u.ctx.measureText(String(v)).width)) / devicePixelRatio;
  return Math.ceil(axis.ticks.size + axis.gap + widest + 4);
}

// fitXAxis makes room below the plot for the category labels, slanted
// when there are many, so none runs off the bottom of the canvas.
function fitXAxis(rotate) {
  return (u, values, i, cycle) => {
    const axis = u.axes[i];
    if (cycle > 1 && axis._size) return axis._size;
    u.ctx.font = axis.font[0];
    const widest = Math.max(0, ...(values || []).map((v) => u.ctx.measureText(String(v)).width)) / devicePixelRatio;
    const fontPx = axis.font[1] || 12;
    const h = rotate ? widest * Math.sin(Math.PI * 35 / 180) + fontPx * Math.cos(Math.PI * 35 / 180) : fontPx;
    return Math.ceil(axis.ticks.size + axis.gap + h + 6);
  };
}

const shortLabel = (s) => (s.length > 24 ? s.slice(0, 23) + "…" : s);

function draw(kind) {
  const cc = chartColumns(last);
  if (!cc) return;
  chartKind = kind;
  const rows = last.rows.slice(0, 500);
  const labels = rows.map((r, i) => (cc.label === null ? String(i + 1) : String(r[cc.label])));
  const xs = rows.map((_, i) => i);
  const box = $("chart");
  box.replaceChildren();
  $("chart-box").hidden = false;
  if (chart) { chart.destroy(); chart = null; }
  let picked = pickedSeries();
  // Bars of at most two series sit side by side (left and right of the tick).
  const dropped = kind === "bar" && picked.length > 2 ? picked.slice(2) : [];
  if (kind === "bar") picked = picked.slice(0, 2);
  if (!picked.length) {
    box.removeAttribute("role");
    box.removeAttribute("aria-label");
    $("chart-caption").textContent = "Tick at least one series to chart.";
    return;
  }
  const data = picked.map((i) => rows.map((r) => (r[i] === null ? null : Number(r[i]))));
  // A series more than ten times smaller than the largest goes on a
  // second scale with its own axis on the right: on the largest one's
  // scale it was drawn flat at zero.
  const peak = data.map((d) => Math.max(0, ...d.filter((v) => v !== null).map(Math.abs)));
  const top = Math.max(...peak);
  const scaleOf = peak.map((m) => (m > 0 && m * 10 < top ? "y2" : "y"));
  const twoAxes = scaleOf.includes("y2");
  const names = picked.map((i) => last.columns[i].name);
  const on = (sc) => names.filter((_, k) => scaleOf[k] === sc);
  const colorOn = (sc) => { const ks = scaleOf.map((s, k) => (s === sc ? k : -1)).filter((k) => k >= 0); return ks.length === 1 ? COLORS[ks[0] % COLORS.length] : undefined; };
  // Bars grow from zero; lines use the data's own range.
  const scale = kind === "bar" ? { range: (u, mn, mx) => window.uPlot.rangeNum(Math.min(0, mn), Math.max(0, mx), 0.1, true) } : {};
  const yAxis = (sc, side) => ({
    scale: sc, side, label: on(sc).join(", "), labelSize: 22, size: fitAxis, gap: 4,
    values: (u, splits, ax, space, incr) => splits.map((v) => fmtNum(v, incr)),
    ...(twoAxes && colorOn(sc) ? { stroke: colorOn(sc) } : {}), grid: { show: side === 3 },
  });
  const bar = (k) => window.uPlot.paths.bars({ size: [picked.length > 1 ? 0.4 : 0.7, 80], align: picked.length > 1 ? (k ? 1 : -1) : 0 });
  const n = rows.length;
  const rotate = n > 6;
  const width = Math.max(320, Math.min(box.parentElement.clientWidth - 24, 1100));
  chart = new window.uPlot({
    width, height: 360,
    scales: { x: { time: false, range: [-0.6, n - 0.4] }, y: { ...scale }, ...(twoAxes ? { y2: { ...scale } } : {}) },
    axes: [{ values: (u, splits) => splits.map((s) => (Number.isInteger(s) ? shortLabel(labels[s] ?? "") : "")), rotate: rotate ? -35 : 0,
      size: fitXAxis(rotate), splits: n <= 40 ? () => xs : undefined, gap: 4 },
    yAxis("y", 3), ...(twoAxes ? [yAxis("y2", 1)] : [])],
    series: [{ label: cc.label === null ? "#" : last.columns[cc.label].name, value: (u, v) => labels[v] ?? "" },
      ...picked.map((i, k) => ({
        label: names[k] + (twoAxes ? (scaleOf[k] === "y" ? " (left axis)" : " (right axis)") : ""),
        scale: scaleOf[k], stroke: COLORS[k % COLORS.length], width: 2,
        fill: kind === "bar" ? COLORS[k % COLORS.length] + "cc" : undefined,
        paths: kind === "bar" ? bar(k) : undefined, points: { show: kind !== "bar" },
        value: (u, v) => (v === null ? "–" : v.toLocaleString("en-US", { maximumFractionDigits: 2 })),
      }))],
    legend: { show: true, live: true },
  }, [xs, ...data], box);
  // The uPlot instance rides on its element: the browser tests read the
  // scales and axes from it (is each series visible, does each label fit).
  box.uplot = chart;
  const by = cc.label === null ? "row" : last.columns[cc.label].name;
  const what = twoAxes ? `${on("y").join(", ")} (left axis) and ${on("y2").join(", ")} (right axis)` : names.join(", ");
  const svgText = `${kind} chart of ${what} by ${by}`;
  box.setAttribute("role", "img");
  box.setAttribute("aria-label", svgText);
  $("chart-caption").textContent = svgText + (last.rows.length > 500 ? " (first 500 rows)" : "") +
    (dropped.length ? `; a bar chart shows two series, the line chart all (${dropped.map((i) => last.columns[i].name).join(", ")} not shown)` : "");
}
$("chart-bar").addEventListener("click", () => draw("bar"));
$("chart-line").addEventListener("click", () => draw("line"));
