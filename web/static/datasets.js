// Datasets: the list, and a dataset's rows (facets, per-column filters,
// sort, paging, export), schema and version history.
"use strict";
import { $, api, el, ident, isNumericType, sql, exportURL, human, when, datasets, showError } from "./api.js";
import { allKeys, linker, linkedCell } from "./row.js";
import { facetBox } from "./facets.js";

const PAGE = 50;

export async function showList() {
  const body = $("datasets-list").querySelector("tbody");
  try {
    const list = await datasets(true, $("datasets-internal").checked);
    $("datasets-empty").hidden = list.length > 0;
    $("try").hidden = !(list.some((d) => d.name === "candidates") && list.some((d) => d.name === "call_log"));
    body.replaceChildren(...list.map((d) => el("tr", {},
      el("th", { scope: "row" }, el("a", { href: "#/datasets/" + encodeURIComponent(d.name) }, d.name)),
      el("td", {}, "v" + d.version),
      el("td", { class: "num" }, (d.row_count ?? 0).toLocaleString("en-US")),
      el("td", { class: "num" }, human((d.files || []).reduce((s, f) => s + (f.bytes || 0), 0))),
      el("td", {}, when(d.updated_at)))));
  } catch (e) { body.replaceChildren(el("tr", {}, el("td", { colspan: 5, class: "msg error" }, e.message))); }
}

$("datasets-internal").addEventListener("change", () => showList());

// state of the rows view of the dataset on screen. It is read from the
// address (#/datasets/<name>?f.city=Chicago&c.years=>=10&sort=-years&page=2
// &facets=city,role&tab=schema) every time it changes, and every action
// writes a new address instead of changing it in place: reload, a shared
// link, Back and Forward all show the same view.
let st = null;
const suggested = {}; // dataset name → the facets suggestFacets picked
const TABS = { rows: "ds-tab-rows", schema: "ds-tab-schema", versions: "ds-tab-versions" };

function selectTab(which) {
  for (const [tab, panel] of [["ds-tab-rows", "ds-rows"], ["ds-tab-schema", "ds-schema-panel"], ["ds-tab-versions", "ds-versions-panel"]]) {
    const on = tab === which;
    $(tab).setAttribute("aria-selected", String(on));
    $(tab).tabIndex = on ? 0 : -1;
    $(panel).hidden = !on;
  }
}
// A tab click writes the address; replaceState keeps tabs out of the
// Back history (they are one view, not a navigation) yet in a shared link.
function chooseTab(id) {
  selectTab(id);
  if (!st) return;
  st.tab = Object.keys(TABS).find((k) => TABS[k] === id);
  history.replaceState(null, "", stateHash(st));
}
for (const id of Object.values(TABS)) $(id).addEventListener("click", () => chooseTab(id));
$("ds-rows").parentElement.querySelector(".tabs").addEventListener("keydown", (e) => {
  const tabs = Object.values(TABS);
  const i = tabs.indexOf(document.activeElement.id);
  if (i < 0 || (e.key !== "ArrowRight" && e.key !== "ArrowLeft")) return;
  const next = tabs[(i + (e.key === "ArrowRight" ? 1 : tabs.length - 1)) % tabs.length];
  chooseTab(next); $(next).focus();
});

// parseState reads a view from the address's query; fn.<col> selects the
// null value of a facet (an f.<col> value is always text).
function parseState(name, query) {
  const s = { name, facets: null, facetSel: {}, colFilter: {}, sort: null, page: 0, tab: "rows" };
  for (const [k, v] of query) {
    if (k.startsWith("f.")) (s.facetSel[k.slice(2)] ||= []).push(v);
    else if (k === "fn") (s.facetSel[v] ||= []).push(null);
    else if (k.startsWith("c.")) s.colFilter[k.slice(2)] = v;
    else if (k === "sort" && v) s.sort = v.startsWith("-") ? { col: v.slice(1), dir: "desc" } : { col: v, dir: "asc" };
    else if (k === "page") s.page = Math.max(0, (parseInt(v, 10) || 1) - 1);
    else if (k === "facets") s.facets = v ? v.split(",") : [];
    else if (k === "tab" && TABS[v]) s.tab = v;
  }
  return s;
}

// stateHash writes a view as an address (the inverse of parseState).
function stateHash(s) {
  const q = new URLSearchParams();
  if (s.facets && s.facetsCustom) q.set("facets", s.facets.join(","));
  for (const [col, vals] of Object.entries(s.facetSel)) for (const v of vals) {
    if (v === null) q.append("fn", col); else q.append("f." + col, String(v));
  }
  for (const [col, f] of Object.entries(s.colFilter)) if (f.trim()) q.set("c." + col, f.trim());
  if (s.sort) q.set("sort", (s.sort.dir === "desc" ? "-" : "") + s.sort.col);
  if (s.page) q.set("page", String(s.page + 1));
  if (s.tab && s.tab !== "rows") q.set("tab", s.tab);
  const qs = q.toString();
  return "#/datasets/" + encodeURIComponent(s.name) + (qs ? "?" + qs : "");
}

// go shows a changed view by writing its address (hashchange renders it).
function go(change) {
  const next = structuredClone({ ...st, schema: undefined, keys: undefined, shown: undefined });
  change(next);
  location.hash = stateHash(next);
}

export async function showDataset(args, query) {
  const name = args[0];
  const prev = st;
  st = parseState(name, query || new URLSearchParams());
  st.facetsCustom = st.facets !== null;
  selectTab(TABS[st.tab]);
  $("ds-title").textContent = name;
  showError("ds-error", null);
  try {
    const [m, keys] = await Promise.all([
      api("GET", "/v1/catalog/manifest/" + encodeURIComponent(name)),
      allKeys().catch(() => ({})), // a page without links beats no page
    ]);
    st.schema = m.schema || [];
    st.keys = keys;
    st.shown = `${name}@${m.version}`;
    $("ds-meta").textContent = `v${m.version} · ${(m.row_count ?? 0).toLocaleString("en-US")} rows · ${st.schema.length} columns · updated ${when(m.updated_at)}`;
    // The schema, column picker and versions change with a new version,
    // not with the view: rebuilt only then.
    if (!prev || prev.shown !== `${name}@${m.version}`) {
      $("ds-schema").querySelector("tbody").replaceChildren(...st.schema.map((c) =>
        el("tr", {}, el("th", { scope: "row" }, c.name), el("td", {}, c.type), el("td", {}, c.nullable ? "yes" : "no"))));
      const sel = $("facet-add");
      sel.replaceChildren(el("option", { value: "" }, "choose a column…"), ...st.schema.map((c) => el("option", { value: c.name }, c.name)));
      loadVersions(name);
    }
    if (st.facets === null) st.facets = suggested[name] ||= await suggestFacets();
    // A selection on a column that is no facet still filters (a link
    // from a row page: f.candidate_id=…); it shows as a chip only.
    buildHeader();
    await refresh();
  } catch (e) { showError("ds-error", e); }
}

async function loadVersions(name) {
  const body = $("ds-versions").querySelector("tbody");
  try {
    const v = await api("GET", "/v1/catalog/versions/" + encodeURIComponent(name));
    const list = v.versions || [];
    const rows = list.map((m, i) => el("tr", {},
      el("th", { scope: "row" }, "v" + m.version), el("td", { class: "num" }, (m.row_count ?? 0).toLocaleString("en-US")),
      el("td", {}, when(m.created_at)), el("td", {}, m.source || ""), el("td", {}, schemaDiff(i ? list[i - 1].schema : null, m.schema))));
    body.replaceChildren(...rows.reverse());
  } catch (e) { body.replaceChildren(el("tr", {}, el("td", { colspan: 5 }, e.message))); }
}

// schemaDiff describes how a version's columns differ from the previous one's.
function schemaDiff(prev, cur) {
  if (!prev) return "first version";
  const p = new Map(prev.map((c) => [c.name, c.type]));
  const c = new Map((cur || []).map((x) => [x.name, x.type]));
  const out = [];
  for (const [n, t] of c) {
    if (!p.has(n)) out.push(el("span", { class: "change-added" }, `+${n} ${t} `));
    else if (p.get(n) !== t) out.push(el("span", { class: "change-changed" }, `${n}: ${p.get(n)} → ${t} `));
  }
  for (const [n, t] of p) if (!c.has(n)) out.push(el("span", { class: "change-removed" }, `−${n} ${t} `));
  return out.length ? out : "same columns";
}

// suggestFacets picks up to three text columns with few distinct values.
async function suggestFacets() {
  const text = st.schema.filter((c) => /^VARCHAR|^BOOLEAN/i.test(c.type)).slice(0, 16);
  if (!text.length) return [];
  const r = await sql(`SELECT ${text.map((c) => `approx_count_distinct(${ident(c.name)})`).join(", ")} FROM ${ident(st.name)}`);
  const counts = r.rows[0] || [];
  return text.filter((c, i) => counts[i] >= 2 && counts[i] <= 30).slice(0, 3).map((c) => c.name);
}

function typeOf(col) { return (st.schema.find((c) => c.name === col) || {}).type || ""; }

// where builds the WHERE clause and params; skipFacet leaves one facet's
// own selection out (so a facet shows its other values too).
function where(skipFacet) {
  const parts = [], params = [];
  const p = (v) => { params.push(v); return "$" + params.length; };
  for (const [col, vals] of Object.entries(st.facetSel)) {
    if (col === skipFacet || !vals.length) continue;
    const nn = vals.filter((v) => v !== null);
    const ors = [];
    if (nn.length) ors.push(`CAST(${ident(col)} AS VARCHAR) IN (${nn.map(p).join(", ")})`);
    if (nn.length !== vals.length) ors.push(`${ident(col)} IS NULL`);
    parts.push("(" + ors.join(" OR ") + ")");
  }
  for (const [col, raw] of Object.entries(st.colFilter)) {
    const f = raw.trim();
    if (!f) continue;
    const m = f.match(/^(<=|>=|!=|<|>|=)?\s*(-?\d+(?:\.\d+)?)$/);
    if (isNumericType(typeOf(col)) && m) parts.push(`${ident(col)} ${m[1] || "="} ${p(Number(m[2]))}`);
    else parts.push(`CAST(${ident(col)} AS VARCHAR) ILIKE ${p("%" + f + "%")}`);
  }
  return { clause: parts.length ? " WHERE " + parts.join(" AND ") : "", params };
}

function viewSQL() {
  const w = where();
  let q = `SELECT * FROM ${ident(st.name)}${w.clause}`;
  if (st.sort) {
    // The other columns break ties: without them rows with the same value
    // come back in any order, so a page could repeat or skip rows and a
    // reload could show a different page.
    const rest = st.schema.filter((c) => c.name !== st.sort.col).map((c) => ident(c.name));
    q += ` ORDER BY ${ident(st.sort.col)} ${st.sort.dir === "desc" ? "DESC" : "ASC"} NULLS LAST${rest.length ? ", " + rest.join(", ") : ""}`;
  }
  return { sql: q, params: w.params };
}

function buildHeader() {
  const head = el("tr", {}, st.schema.map((c) => {
    const sorted = st.sort && st.sort.col === c.name;
    return el("th", { scope: "col", "aria-sort": sorted ? (st.sort.dir === "desc" ? "descending" : "ascending") : "none" },
      el("button", { type: "button", class: "sort", "aria-label": `Sort by ${c.name}`, onclick: () => toggleSort(c.name) }, c.name),
      el("span", { class: "type" }, c.type),
      el("input", { class: "col-filter", "aria-label": `Filter ${c.name}`, value: st.colFilter[c.name] || "",
        placeholder: isNumericType(c.type) ? "e.g. >=5" : "contains…", dataset: { col: c.name },
        onkeydown: (e) => { if (e.key === "Enter") go((n) => { n.colFilter[c.name] = e.target.value; n.page = 0; }); } }));
  }));
  $("ds-table").querySelector("thead").replaceChildren(head);
}

function toggleSort(col) {
  go((n) => {
    if (!n.sort || n.sort.col !== col) n.sort = { col, dir: "asc" };
    else n.sort = n.sort.dir === "asc" ? { col, dir: "desc" } : null;
    n.page = 0;
  });
}

// refreshGen numbers refreshes: an answer to an older one (a view left
// before its rows arrived) must not overwrite a newer view's.
let refreshGen = 0;

async function refresh() {
  const gen = ++refreshGen;
  const v = viewSQL();
  const w = where();
  showError("ds-error", null);
  try {
    const [cnt, page] = await Promise.all([
      sql(`SELECT COUNT(*) FROM ${ident(st.name)}${w.clause}`, w.params),
      sql(`${v.sql} LIMIT ${PAGE} OFFSET ${st.page * PAGE}`, v.params),
    ]);
    if (gen !== refreshGen) return;
    st.total = cnt.rows[0][0];
    const types = page.columns.map((c) => c.type);
    const link = linker(st.name, page.columns, st.keys || {});
    $("ds-table").querySelector("tbody").replaceChildren(...page.rows.map((r) => el("tr", {}, r.map((x, i) => linkedCell(x, types[i], link(r, i))))));
    const from = st.total ? st.page * PAGE + 1 : 0;
    $("page-info").textContent = `rows ${from.toLocaleString("en-US")}–${(st.page * PAGE + page.rows.length).toLocaleString("en-US")} of ${st.total.toLocaleString("en-US")}`;
    $("page-prev").disabled = st.page === 0;
    $("page-next").disabled = (st.page + 1) * PAGE >= st.total;
    for (const f of ["csv", "json", "parquet"]) $("export-" + f).href = exportURL(v.sql, v.params, f, st.name);
    renderChips();
    await renderFacets();
  } catch (e) { showError("ds-error", e); }
}

function renderChips() {
  const chips = [];
  // The sorted column may be scrolled out of sight in a wide table: the
  // sort shows here too, beside the filters, and the chip removes it.
  if (st.sort) {
    const dir = st.sort.dir === "desc" ? "descending" : "ascending";
    chips.push(el("button", { type: "button", class: "chip sort-chip", "aria-label": `sorted by ${st.sort.col}, ${dir}: remove the sort`,
      onclick: () => go((n) => { n.sort = null; n.page = 0; }) }, `sorted by ${st.sort.col} ${st.sort.dir === "desc" ? "↓" : "↑"} ✕`));
  }
  for (const [col, vals] of Object.entries(st.facetSel)) for (const v of vals) {
    chips.push(el("button", { type: "button", class: "chip", "aria-label": `Remove filter ${col} = ${v}`,
      onclick: () => go((n) => { n.facetSel[col] = n.facetSel[col].filter((x) => x !== v); n.page = 0; }) }, `${col} = ${v ?? "null"} ✕`));
  }
  for (const [col, f] of Object.entries(st.colFilter)) if (f.trim()) {
    chips.push(el("button", { type: "button", class: "chip", "aria-label": `Remove filter on ${col}`,
      onclick: () => go((n) => { delete n.colFilter[col]; n.page = 0; }) }, `${col}: ${f} ✕`));
  }
  $("active-filters").replaceChildren(...chips);
}

// facetState keeps each facet's "show more" and search text across the
// re-renders every change of the view causes (dataset.column → state).
const facetState = {};

async function renderFacets() {
  const boxes = st.facets.map((col) => {
    const sel = st.facetSel[col] || [];
    return facetBox({
      col, state: (facetState[st.name + "." + col] ||= {}),
      selected: (v) => sel.includes(v === null ? null : String(v)),
      pick: (v) => toggleFacet(col, v),
      remove: () => go((n) => { n.facets = n.facets.filter((c) => c !== col); n.facetsCustom = true; delete n.facetSel[col]; n.page = 0; }),
      values: async (q, limit) => {
        // The facet's counts under every other filter; q finds values by
        // part of their text, and total says how many there are in all.
        const w = where(col);
        let clause = w.clause;
        const params = [...w.params];
        if (q) {
          params.push("%" + q + "%");
          clause += (clause ? " AND " : " WHERE ") + `CAST(${ident(col)} AS VARCHAR) ILIKE $${params.length}`;
        }
        const r = await sql(`SELECT ${ident(col)} AS v, COUNT(*) AS n, COUNT(*) OVER () AS total FROM ${ident(st.name)}${clause} GROUP BY 1 ORDER BY n DESC, v NULLS LAST LIMIT ${limit}`, params);
        return { rows: r.rows.map(([v, n]) => [v, n]), total: r.rows.length ? r.rows[0][2] : 0 };
      },
    });
  });
  // All boxes appear at once, filled: no flash of empty facets.
  await Promise.all(boxes.map((b) => b.ready));
  $("facet-list").replaceChildren(...boxes);
}

// toggleFacet selects or unselects a value. Selections are text (as the
// address carries them): where() compares the column as text too.
function toggleFacet(col, v) {
  const val = v === null ? null : String(v);
  go((n) => {
    const cur = n.facetSel[col] || [];
    n.facetSel[col] = cur.includes(val) ? cur.filter((x) => x !== val) : [...cur, val];
    n.page = 0;
  });
}

$("facet-add").addEventListener("change", (e) => {
  const col = e.target.value;
  e.target.value = "";
  if (col && !st.facets.includes(col)) go((n) => { n.facets.push(col); n.facetsCustom = true; });
});
// On a narrow screen the facets start folded so the rows come first.
if (window.matchMedia("(max-width: 800px)").matches) $("facets-box").open = false;
$("page-prev").addEventListener("click", () => { if (st.page > 0) go((n) => { n.page--; }); });
$("page-next").addEventListener("click", () => go((n) => { n.page++; }));
$("open-in-sql").addEventListener("click", () => {
  const v = viewSQL();
  const q = new URLSearchParams({ sql: v.sql + "\nLIMIT 1000" });
  v.params.forEach((val, i) => {
    q.append(`p.p${i + 1}`, String(val));
    if (typeof val === "number") q.append(`t.p${i + 1}`, "number");
  });
  location.hash = "#/sql?" + q.toString();
});
