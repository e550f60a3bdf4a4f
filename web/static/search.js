// Candidate search, the co-pilot: free text + filters over a vector index,
// each hit with its score, its row and why it matched (the server's
// explanation); selected hits are saved to pathway memory as a shortlist
// (with an optional note). Hybrid (meaning + words) is the default: a
// sentence encoder blurs "OSHA-30" into "OSHA-10", the keyword side does not.
"use strict";
import { $, api, el, ident, sql, datasets, showError, toast } from "./api.js";
import { allKeys, rowHref } from "./row.js";
import { facetBox, listValues } from "./facets.js";

// Hits whose similarity of meaning (cosine) is under this are shown as
// weak matches (the demo's negative control, "dental hygienist", tops out
// near 0.47; real matches ~0.7). Hybrid's fused score is a sum of
// 1/(60 + rank), not a similarity: strength is judged on the vector side.
const STRONG = 0.55;
const STOP = new Set(["the", "and", "with", "for", "who", "has", "have", "can", "any", "all", "are", "from", "that", "this", "into", "near", "in", "of", "a", "an", "to", "or", "on", "at", "by"]);
const DEFAULT_MODE = "hybrid";
// The metadata keys offered as filters, as pick-lists and as facets.
const PICK = ["city", "role", "availability"];
let lastHits = [];
let lastQuery = null;
let metric = {}; // index name → its distance metric (similarity is 1 − distance under cosine)
const picks = {}; // "index@label" → {key: [{value, count}…]}: facet counts over the whole index
let pickList = {}; // the picks of the index chosen now

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
    if (v && !(k === "k" && v === "20") && !(k === "mode" && v === DEFAULT_MODE)) q.set(k, v);
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
    metric = Object.fromEntries(list.map((i) => [i.name, i.distance ?? i.metric]));
    sel.replaceChildren(...list.map((i) => el("option", { value: i.name }, `${i.name} (${(i.length ?? 0).toLocaleString("en-US")})`)));
    if (cur && list.some((i) => i.name === cur)) sel.value = cur;
    else if (list.some((i) => i.name === "candidates")) sel.value = "candidates";
    if (!list.length) $("search-status").textContent = "No vector index yet: `lakehouse demo seed` builds “candidates”.";
    await fillDatalists();
    const q = query && query.get("q");
    if (q && list.length && location.hash !== lastSearch) {
      $("search-text").value = q;
      for (const [k, id] of Object.entries(FIELDS)) $(id).value = query.get(k) ?? (k === "k" ? "20" : k === "mode" ? DEFAULT_MODE : "");
      await search();
    }
  } catch (e) { showError("search-error", e); }
}

// fillDatalists offers the values the filters can take: the index's own
// facet counts over all its items (in vector mode a search's facets count
// every item the filter admits, whatever the text, so any text serves).
// They are also the canonical spellings a typed filter is matched to.
async function fillDatalists() {
  const index = $("search-index").value;
  const info = [...$("search-index").options].find((o) => o.value === index);
  const key = index + "@" + (info ? info.textContent : "");
  if (!index) return;
  try {
    picks[key] ||= (await api("POST", "/v1/vectors/index/" + encodeURIComponent(index) + "/search",
      { text: index, k: 1, mode: "vector", facets: PICK })).facets || {};
    pickList = picks[key];
  } catch (_) { pickList = {}; /* suggestions are optional; asked again next time */ }
  for (const col of PICK) {
    const vals = (pickList[col] || []).map((f) => [f.value, f.count]);
    $("dl-" + col).replaceChildren(...vals.map(([v, n]) => el("option", { value: v, label: `${v} (${Number(n).toLocaleString("en-US")})` })));
  }
}

// canonical returns the index's spelling of a typed filter value: the
// server's filter is exact ("chicago" would silently match nothing), so
// the page matches case-insensitively against the pick-list, and asks
// the source dataset when the pick-list is cut at its 50 values. null:
// no item holds that value.
async function canonical(index, key, typed) {
  const vals = (pickList[key] || []).map((f) => String(f.value));
  const low = typed.toLowerCase();
  const found = vals.find((v) => v === typed) ?? vals.find((v) => v.toLowerCase() === low);
  if (found !== undefined) return found;
  const ds = vals.length >= 50 ? await sourceDataset(index) : null;
  if (!ds || !(ds.schema || []).some((c) => c.name === key)) return null;
  try {
    const r = await sql(`SELECT DISTINCT CAST(${ident(key)} AS VARCHAR) FROM ${ident(ds.name)} WHERE lower(CAST(${ident(key)} AS VARCHAR)) = lower($1) LIMIT 1`, [typed]);
    return r.rows.length ? r.rows[0][0] : null;
  } catch (_) { return null; }
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
  const unknown = [];
  for (const f of PICK) {
    const typed = $("f-" + f).value.trim();
    if (!typed) continue;
    const v = await canonical(index, f, typed);
    if (v === null) unknown.push(`no ${f} “${typed}” in this index`);
    else $("f-" + f).value = v;
    filter[f] = v ?? typed;
  }
  const max = $("f-rate-max").value;
  if (max !== "") filter.hourly_rate = { $lte: Number(max) };
  // A filter typed in another case now reads as the index spells it: the
  // address says so too, without a new history entry.
  const h = searchHash();
  if (location.hash.startsWith("#/search") && location.hash !== h) { history.replaceState(null, "", h); lastSearch = h; }
  const mode = $("search-mode").value;
  const body = { text: $("search-text").value, k: Number($("search-k").value), mode, explain: true, facets: PICK };
  if (Object.keys(filter).length) body.filter = filter;
  $("search-status").textContent = "searching…";
  try {
    const r = await api("POST", "/v1/vectors/index/" + encodeURIComponent(index) + "/search", body);
    lastHits = r.results || [];
    lastQuery = { index, text: body.text, mode, filter };
    const [rows, keys] = await Promise.all([rowsFor(index, lastHits), allKeys().catch(() => ({}))]);
    // A hit's id is its row's key when the dataset declares a one-column
    // key: then each hit links to the row's page (its profile).
    const key = (keys[index] || {}).key || [];
    const profile = key.length === 1 ? (id) => rowHref(index, key, [id]) : null;
    const sim = similarity(index, mode);
    render(lastHits, rows, terms(body.text), filter, profile, sim);
    await renderFacets(r.facets || {}, filter);
    const judged = lastHits.filter((h) => sim(h) !== null);
    const strong = judged.filter((h) => sim(h) >= STRONG).length;
    $("search-status").textContent = `${lastHits.length} results` +
      (judged.length ? `, ${strong} strong match${strong === 1 ? "" : "es"}` : "") +
      (judged.length && strong === 0 && lastHits.length ? " — nothing in this index is really about that" : "") +
      (unknown.length ? ` (${unknown.join("; ")}: pick a value from the list)` : "");
    $("shortlist-form").hidden = lastHits.length === 0;
    if (!$("shortlist-name").value) $("shortlist-name").value = body.text;
  } catch (e) {
    $("search-status").textContent = "";
    $("search-results").replaceChildren();
    $("search-facets-box").hidden = true;
    showError("search-error", e);
  }
}

// similarity is a hit's closeness of meaning in [0, 1], or null when the
// search gave none (keyword mode without a vector, a non-cosine index
// outside vector mode).
function similarity(index, mode) {
  return (h) => {
    if (metric[index] === "cosine" && h.distance != null) return 1 - h.distance;
    if (mode === "vector") return h.score;
    return null;
  };
}

// renderFacets shows the search's facet counts beside the hits: how many
// of the candidates the filters admit hold each value. Picking a value
// filters by it (picking the chosen one again clears it).
const facetState = {};
async function renderFacets(facets, filter) {
  const boxes = PICK.filter((col) => (facets[col] || []).length).map((col) => facetBox({
    col, state: (facetState[col] ||= {}),
    values: listValues(facets[col].map((f) => [f.value, f.count])),
    selected: (v) => filter[col] === v,
    pick: (v) => {
      $("f-" + col).value = filter[col] === v ? "" : String(v);
      $("search-form").requestSubmit();
    },
  }));
  await Promise.all(boxes.map((b) => b.ready));
  $("search-facets").replaceChildren(...boxes);
  $("search-facets-box").hidden = boxes.length === 0;
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

// explainLines puts the server's explanation in a recruiter's words.
function explainLines(x, sim) {
  if (!x) return [];
  const out = [];
  const nth = (n) => `#${n}`;
  if (x.keyword_rank) {
    out.push(`Words: ranked ${nth(x.keyword_rank)} (keyword score ${x.keyword_score?.toFixed(2) ?? "?"})` +
      (x.matched_terms?.length ? `, matched ${x.matched_terms.join(", ")}` : ""));
  } else if (x.mode !== "vector") {
    out.push("Words: no word of the query appears in this profile");
  }
  if (x.vector_rank || x.vector_distance != null) {
    out.push(`Meaning: ${x.vector_rank ? "ranked " + nth(x.vector_rank) : "ranked"}` + (sim !== null ? `, similarity ${sim.toFixed(2)}` : ""));
  }
  if (x.codes_matched) out.push(`Holds ${x.codes_matched} of the codes in the query (certifications, licences)`);
  if (x.fused != null) out.push(`Combined score ${x.fused.toFixed(4)}: both rankings fused, codes first`);
  return out;
}

function render(hits, rows, words, filter, profile, sim) {
  const fields = ["role", "skills", "certifications", "languages", "shift", "summary"];
  $("search-results").replaceChildren(...hits.map((h, n) => {
    const row = rows[h.id] || {};
    const md = h.metadata || {};
    const s = sim(h);
    const why = explainLines(h.explain, s);
    for (const f of fields) {
      if (row[f] == null) continue;
      const hitWords = words.filter((w) => String(row[f]).toLowerCase().includes(w));
      if (hitWords.length) why.push(`in ${f}: ${hitWords.join(", ")}`);
    }
    for (const [k, v] of Object.entries(filter)) why.push(`filter ${k} ${typeof v === "object" ? JSON.stringify(v) : "= " + v}`);
    if (!why.length) why.push("no query word appears literally: the match is by meaning");
    const weak = s !== null && s < STRONG;
    const pct = Math.max(0, Math.min(100, Math.round((s ?? 0) * 100)));
    const bar = el("span", { class: "bar", "aria-hidden": "true" }, el("span", {}));
    bar.firstChild.style.width = pct + "%";
    const cbId = "pick-" + n;
    return el("li", { class: "hit" + (weak ? " weak" : "") },
      el("header", {},
        el("input", { type: "checkbox", id: cbId, class: "hit-select", value: h.id }),
        el("label", { for: cbId, class: "who" }, `${row.name || md.name || h.id}`),
        profile ? el("a", { href: profile(h.id), class: "profile", "aria-label": `${h.id}: profile of ${row.name || md.name || h.id}` }, h.id) : el("span", { class: "meta" }, h.id),
        s !== null ? el("span", { class: "score" }, bar, ` similarity ${s.toFixed(3)}`) : el("span", { class: "score" }, `score ${h.score.toFixed(3)}`),
        weak ? el("span", { class: "badge" }, "weak match") : null,
        el("span", {}, [md.role || row.role, md.city || row.city, row.state].filter(Boolean).join(" · ")),
        (md.hourly_rate ?? row.hourly_rate) != null ? el("span", {}, `$${Number(md.hourly_rate ?? row.hourly_rate).toFixed(2)}/h`) : null,
        (md.availability || row.availability) ? el("span", { class: "badge" }, md.availability || row.availability) : null),
      row.summary ? el("p", {}, highlight(row.summary, words)) : null,
      el("details", {}, el("summary", {}, "Why this result"),
        el("ul", { class: "why" }, why.map((w) => el("li", {}, w))),
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
