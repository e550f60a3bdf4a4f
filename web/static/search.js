// Candidate search, the co-pilot: free text + filters over a vector index,
// each hit with its score, its row and why it matched; selected hits are
// saved to pathway memory as a shortlist (with an optional note).
"use strict";
import { $, api, el, ident, sql, datasets, showError, toast } from "./api.js";
import { allKeys, rowHref } from "./row.js";

// Hits scoring under this are shown as weak matches (the demo's negative
// control, "dental hygienist", tops out near 0.47; real matches ~0.7).
const STRONG = 0.55;
const STOP = new Set(["the", "and", "with", "for", "who", "has", "have", "can", "any", "all", "are", "from", "that", "this", "into", "near", "in", "of", "a", "an", "to", "or", "on", "at", "by"]);
let lastHits = [];
let lastQuery = null;

// The search on screen is in the address (#/search?q=…&index=…&mode=…
// &city=…&role=…&availability=…&rate_max=…&k=…): Search writes it, and an
// address with q sets every field from it (a field it leaves out is
// cleared, so filters of an earlier search never stick) and searches.
const FIELDS = { city: "f-city", role: "f-role", availability: "f-availability", rate_max: "f-rate-max", k: "search-k", mode: "search-mode" };
let lastSearch = null; // the address whose search is on screen

function searchHash() {
  const q = new URLSearchParams({ q: $("search-text").value });
  if ($("search-index").value) q.set("index", $("search-index").value);
  for (const [k, id] of Object.entries(FIELDS)) {
    const v = $(id).value.trim();
    if (v && !(k === "k" && v === "20") && !(k === "mode" && v === "vector")) q.set(k, v);
  }
  return "#/search?" + q.toString();
}

export async function show(args, query) {
  try {
    const r = await api("GET", "/v1/vectors/index");
    const sel = $("search-index");
    const cur = (query && query.get("index")) || sel.value;
    // "_" indexes belong to modules (pathway's memory index), not to people.
    const list = (r.indexes || []).filter((i) => !i.name.startsWith("_"));
    sel.replaceChildren(...list.map((i) => el("option", { value: i.name }, `${i.name} (${(i.length ?? 0).toLocaleString("en-US")})`)));
    if (cur && list.some((i) => i.name === cur)) sel.value = cur;
    else if (list.some((i) => i.name === "candidates")) sel.value = "candidates";
    if (!list.length) $("search-status").textContent = "No vector index yet: `lakehouse demo seed` builds “candidates”.";
    await fillDatalists();
    const q = query && query.get("q");
    if (q && list.length && location.hash !== lastSearch) {
      $("search-text").value = q;
      for (const [k, id] of Object.entries(FIELDS)) $(id).value = query.get(k) ?? (k === "k" ? "20" : k === "mode" ? "vector" : "");
      await search();
    }
  } catch (e) { showError("search-error", e); }
}

// fillDatalists offers the values the filters can take (from the dataset).
async function fillDatalists() {
  const ds = await sourceDataset($("search-index").value);
  if (!ds) return;
  for (const col of ["city", "role", "availability"]) {
    if (!(ds.schema || []).some((c) => c.name === col)) continue;
    try {
      const r = await sql(`SELECT DISTINCT ${ident(col)} FROM ${ident(ds.name)} WHERE ${ident(col)} IS NOT NULL ORDER BY 1 LIMIT 200`);
      $("dl-" + col).replaceChildren(...r.rows.map(([v]) => el("option", { value: v })));
    } catch (_) { /* suggestions are optional */ }
  }
}

// sourceDataset is the dataset an index was built from: the same name.
async function sourceDataset(index) {
  const list = await datasets();
  return list.find((d) => d.name === index) || null;
}

function idColumn(ds) {
  const cols = (ds.schema || []).map((c) => c.name);
  return cols.find((c) => /(^|_)id$/i.test(c)) || cols[0];
}

function terms(text) {
  return [...new Set(text.toLowerCase().split(/[^a-z0-9-]+/).filter((w) => w.length > 2 && !STOP.has(w)))];
}

$("search-form").addEventListener("submit", (ev) => {
  ev.preventDefault();
  const h = searchHash();
  if (location.hash === h) search(); else location.hash = h;
});

async function search() {
  lastSearch = location.hash;
  showError("search-error", null);
  const index = $("search-index").value;
  const filter = {};
  for (const f of ["city", "role", "availability"]) {
    const v = $("f-" + f).value.trim();
    if (v) filter[f] = v;
  }
  const max = $("f-rate-max").value;
  if (max !== "") filter.hourly_rate = { $lte: Number(max) };
  const body = { text: $("search-text").value, k: Number($("search-k").value) };
  if ($("search-mode").value !== "vector") body.mode = $("search-mode").value;
  if (Object.keys(filter).length) body.filter = filter;
  $("search-status").textContent = "searching…";
  try {
    const r = await api("POST", "/v1/vectors/index/" + encodeURIComponent(index) + "/search", body);
    lastHits = r.results || [];
    lastQuery = { index, text: body.text, filter };
    const [rows, keys] = await Promise.all([rowsFor(index, lastHits), allKeys().catch(() => ({}))]);
    // A hit's id is its row's key when the dataset declares a one-column
    // key: then each hit links to the row's page (its profile).
    const key = (keys[index] || {}).key || [];
    const profile = key.length === 1 ? (id) => rowHref(index, key, [id]) : null;
    render(lastHits, rows, terms(body.text), filter, profile);
    const strong = lastHits.filter((h) => h.score >= STRONG).length;
    $("search-status").textContent = `${lastHits.length} results, ${strong} strong match${strong === 1 ? "" : "es"}` +
      (strong === 0 && lastHits.length ? " — nothing in this index is really about that" : "");
    $("shortlist-form").hidden = lastHits.length === 0;
    if (!$("shortlist-name").value) $("shortlist-name").value = body.text;
  } catch (e) { $("search-status").textContent = ""; $("search-results").replaceChildren(); showError("search-error", e); }
}

async function rowsFor(index, hits) {
  const ds = await sourceDataset(index);
  if (!ds || !hits.length) return {};
  const idc = idColumn(ds);
  const ids = hits.map((h) => h.id);
  const r = await sql(`SELECT * FROM ${ident(ds.name)} WHERE CAST(${ident(idc)} AS VARCHAR) IN (${ids.map((_, i) => "$" + (i + 1)).join(", ")})`, ids);
  const idIdx = r.columns.findIndex((c) => c.name === idc);
  const out = {};
  for (const row of r.rows) out[String(row[idIdx])] = Object.fromEntries(r.columns.map((c, i) => [c.name, row[i]]));
  return out;
}

// highlight returns text with the matched terms wrapped in <mark>.
function highlight(text, words) {
  if (!words.length) return [text];
  const re = new RegExp("(" + words.map((w) => w.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")).join("|") + ")", "gi");
  return String(text).split(re).map((part, i) => (i % 2 ? el("mark", {}, part) : part));
}

function render(hits, rows, words, filter, profile) {
  const fields = ["role", "skills", "certifications", "languages", "shift", "summary"];
  $("search-results").replaceChildren(...hits.map((h, n) => {
    const row = rows[h.id] || {};
    const md = h.metadata || {};
    const why = [];
    for (const f of fields) {
      if (row[f] == null) continue;
      const hitWords = words.filter((w) => String(row[f]).toLowerCase().includes(w));
      if (hitWords.length) why.push(`${f}: ${hitWords.join(", ")}`);
    }
    for (const [k, v] of Object.entries(filter)) why.push(`filter ${k} ${typeof v === "object" ? JSON.stringify(v) : "= " + v}`);
    const weak = h.score < STRONG;
    const pct = Math.max(0, Math.min(100, Math.round(h.score * 100)));
    const bar = el("span", { class: "bar", "aria-hidden": "true" }, el("span", {}));
    bar.firstChild.style.width = pct + "%";
    const cbId = "pick-" + n;
    return el("li", { class: "hit" + (weak ? " weak" : "") },
      el("header", {},
        el("input", { type: "checkbox", id: cbId, class: "hit-select", value: h.id }),
        el("label", { for: cbId, class: "who" }, `${row.name || md.name || h.id}`),
        profile ? el("a", { href: profile(h.id), class: "profile", "aria-label": `${h.id}: profile of ${row.name || md.name || h.id}` }, h.id) : el("span", { class: "meta" }, h.id),
        el("span", { class: "score" }, bar, ` score ${h.score.toFixed(3)}`),
        weak ? el("span", { class: "badge" }, "weak match") : null,
        el("span", {}, [md.role || row.role, md.city || row.city, row.state].filter(Boolean).join(" · ")),
        (md.hourly_rate ?? row.hourly_rate) != null ? el("span", {}, `$${Number(md.hourly_rate ?? row.hourly_rate).toFixed(2)}/h`) : null,
        (md.availability || row.availability) ? el("span", { class: "badge" }, md.availability || row.availability) : null),
      row.summary ? el("p", {}, highlight(row.summary, words)) : null,
      el("details", {}, el("summary", {}, "Why this result"),
        el("ul", {}, (why.length ? why : ["no query word appears literally: the match is by meaning"]).map((w) => el("li", {}, w))),
        Object.keys(row).length ? el("p", { class: "meta" }, `skills: ${row.skills ?? ""} · certifications: ${row.certifications ?? ""} · reliability: ${row.reliability ?? ""}`) : null));
  }));
}

$("shortlist-form").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  const picked = [...document.querySelectorAll(".hit-select:checked")].map((c) => c.value);
  const status = $("shortlist-status");
  const note = $("shortlist-note").value.trim();
  if (!picked.length && !note) { status.className = "msg error"; status.textContent = "Select candidates (or write a note) first."; return; }
  const byID = Object.fromEntries(lastHits.map((h) => [h.id, h]));
  const content = {
    type: picked.length ? "shortlist" : "note", name: $("shortlist-name").value.trim(), note: note || undefined,
    query: lastQuery, candidates: picked.map((id) => ({ id, name: (byID[id].metadata || {}).name, score: byID[id].score })),
  };
  try {
    const t = await api("POST", "/v1/pathway/add", { content, tags: [content.type, lastQuery ? lastQuery.index : "search"] });
    status.className = "msg ok";
    status.textContent = `Saved ${content.type} “${content.name}” (${picked.length} candidates) as trace ${t.uid}.`;
    toast("Saved to memory");
  } catch (e) { status.className = "msg error"; status.textContent = e.message; }
});
$("search-index").addEventListener("change", fillDatalists);
