// Activity: the observer's event feed (polled while the page is open)
// and workflow runs with per-node status.
"use strict";
import { $, api, el, when } from "./api.js";

const POLL_MS = 2000;
let timer = null;
let cursor = null; // highest event id shown
let source = "";

export async function show() {
  if ($("activity-source").value !== source || cursor === null) reset();
  await poll();
  await runs();
  schedule();
}

export function hide() { clearTimeout(timer); timer = null; }

function reset() {
  source = $("activity-source").value;
  cursor = null;
  $("activity-feed").querySelector("tbody").replaceChildren();
}

function schedule() {
  clearTimeout(timer);
  if ($("activity-live").checked && !$("page-activity").hidden) timer = setTimeout(async () => { await poll(); schedule(); }, POLL_MS);
}

// routeParams pairs a route's :names with the path's segments, so
// "/v1/workbench/queries/:id" and ".../queries/top-cities" give
// { id: "top-cities" }.
function routeParams(route, path) {
  const rs = (route || "").split("/"), ps = (path || "").split("/"), out = {};
  rs.forEach((r, i) => { if (r.startsWith(":") && ps[i] !== undefined) out[r.slice(1)] = decodeURIComponent(ps[i]); });
  return out;
}

const n = (v) => Number(v).toLocaleString("en-US");
const link = (href, text) => el("a", { href }, text);
const dataset = (name) => link("#/datasets/" + encodeURIComponent(name), name);
const saved = (id, text) => link("#/sql?saved=" + encodeURIComponent(id), text);

// Sentences for the calls people make, keyed by method and route. Each
// gets the event's facts (what the handler noted, app.AuditNote) and the
// route's parameters, and returns the words after the person's name,
// linking to the object where there is one — or null when the facts it
// needs are missing (an older event), which falls back to the route.
const SAY = {
  "POST /v1/ingest": (f) => f.dataset && (f.existing
    ? ["re-sent an ingest already in ", dataset(f.dataset), ` (v${f.version}); nothing new was written`]
    : f.change
      ? ["changed ", dataset(f.dataset), ` (v${f.version}) by ${(f.change.key || []).join(", ")}: ` +
        `${n(f.change.inserted)} added, ${n(f.change.updated)} updated, ${n(f.change.deleted)} deleted`]
      : ["ingested ", `${n(f.rows)} ${f.rows === 1 ? "row" : "rows"} into `, dataset(f.dataset), ` (v${f.version})`]),
  "PUT /v1/workbench/queries/:id": (f, p) => f.name && [f.created ? "saved the new query " : "saved the query ", saved(p.id, `“${f.name}”`), ` (version ${f.version})`],
  "POST /v1/workbench/queries/:id/restore": (f, p) => f.name && ["restored the query ", saved(p.id, `“${f.name}”`), ` to version ${f.restored}`],
  "DELETE /v1/workbench/queries/:id": (f, p) => [`deleted the saved query ${p.id}`],
  "POST /v1/erasure": (f) => f.job && ["erased a person (receipt ", link("/v1/erasure/" + encodeURIComponent(f.job), f.job), ")"],
  "POST /v1/observer/workflow/run": () => ["ran a workflow (its nodes are under Workflow runs)"],
  "DELETE /v1/catalog/datasets/:name": (f, p) => [`deleted the dataset ${p.name}`],
  "PUT /v1/catalog/keys/:name": (f, p) => ["declared the key of ", dataset(p.name)],
  "PUT /v1/catalog/retention/:name": (f, p) => ["set how long ", dataset(p.name), " keeps its versions"],
  "PUT /v1/catalog/tags/:name/:tag": (f, p) => ["tagged ", dataset(p.name), ` “${p.tag}”`],
  "DELETE /v1/catalog/tags/:name/:tag": (f, p) => ["removed the tag ", `“${p.tag}”`, " from ", dataset(p.name)],
  "POST /v1/catalog/maintenance": () => ["ran catalog maintenance"],
  "POST /v1/vectors/index": () => ["created a vector index"],
  "DELETE /v1/vectors/index/:name": (f, p) => [`dropped the vector index ${p.name}`],
  "POST /v1/vectors/index/:name/add": (f, p) => [`added vectors to the index ${p.name}`],
  "POST /v1/vectors/index/:name/from-dataset": (f, p) => [`indexed a dataset into ${p.name}`],
  "POST /v1/pathway/add": () => ["added a trace to ", link("#/memory", "memory")],
  "POST /v1/pathway/add_idempotent": () => ["added a trace to ", link("#/memory", "memory")],
  "POST /v1/pathway/update": () => ["updated a trace in ", link("#/memory", "memory")],
  "POST /v1/pathway/revise": () => ["revised a trace in ", link("#/memory", "memory")],
  "POST /v1/pathway/retire": () => ["retired a trace from ", link("#/memory", "memory")],
  "POST /v1/session": () => ["signed in"],
  "DELETE /v1/session": () => ["signed out"],
};

// describe words an event for people; a failed call, a node of a
// workflow run and anything not in SAY keep their method and route (or
// endpoint), which is still what an engineer needs to find it.
function describe(ev) {
  const who = !ev.principal || ev.principal === "anonymous" ? "Someone" : ev.principal;
  if (ev.source === "workflow" && ev.workflow) {
    return [`Workflow ${ev.workflow}: step ${ev.node || ev.endpoint} ${ev.success === false ? "failed" : "done"}`];
  }
  if (ev.source === "erasure" && ev.job) {
    const rows = ev.receipt?.rows_erased;
    return ["The erasure ", link("/v1/erasure/" + encodeURIComponent(ev.job), ev.job), " finished",
      rows != null ? `: ${n(rows)} ${rows === 1 ? "row" : "rows"} erased` : ""];
  }
  const route = (ev.route || "").replace(/\/$/, "");
  const say = ev.success !== false && SAY[`${ev.method} ${route}`];
  const words = say ? say(ev, routeParams(route, ev.path)) : null;
  if (words) return [who + " ", ...words];
  const what = ev.endpoint || [ev.method, ev.route].filter(Boolean).join(" ");
  return [what, ev.path && ev.path !== ev.route ? el("span", { class: "meta" }, " " + ev.path) : null];
}

function row(ev) {
  return el("tr", { class: ev.success === false ? "failed" : undefined, dataset: { event: String(ev.id) } },
    el("td", {}, when(ev.timestamp)), el("td", {}, ev.source || ""),
    el("td", { class: "what" }, describe(ev), ev.error ? el("div", { class: "msg error" }, ev.error) : null),
    el("td", {}, ev.status != null ? String(ev.status) : (ev.success === false ? "failed" : "ok")),
    el("td", {}, ev.principal || ""));
}

async function poll() {
  const q = new URLSearchParams({ limit: "100" });
  if (source) q.set("source", source);
  if (cursor !== null) q.set("since", String(cursor));
  try {
    const r = await api("GET", "/v1/observer/events?" + q.toString());
    const evs = (r.events || []).slice().sort((a, b) => a.id - b.id);
    if (evs.length) cursor = Math.max(cursor ?? 0, evs[evs.length - 1].id);
    else if (cursor === null) cursor = r.next_since || 0;
    const body = $("activity-feed").querySelector("tbody");
    for (const ev of evs) body.prepend(row(ev));
    while (body.children.length > 500) body.lastChild.remove();
    $("activity-status").textContent = `${body.children.length} events shown · updated ${new Date().toLocaleTimeString("en-GB")}`;
  } catch (e) { $("activity-status").textContent = e.message; }
}

async function runs() {
  try {
    const r = await api("GET", "/v1/observer/workflow");
    const list = (r.runs || []).slice().sort((a, b) => String(b.started_at).localeCompare(String(a.started_at)));
    $("workflow-runs").querySelector("tbody").replaceChildren(...list.map((run) => el("tr", {},
      el("th", { scope: "row" }, el("button", { type: "button", class: "link", onclick: () => detail(run.id) }, run.workflow || run.id)),
      el("td", {}, run.status), el("td", {}, when(run.started_at)),
      el("td", {}, `${(run.nodes || []).filter((n) => n.status === "succeeded" || n.success).length}/${(run.nodes || []).length} done`))));
    if (!list.length) $("workflow-runs").querySelector("tbody").replaceChildren(el("tr", {}, el("td", { colspan: 4, class: "meta" }, "no workflow runs yet")));
  } catch (e) { $("workflow-detail").textContent = e.message; }
}

async function detail(id) {
  try {
    const run = await api("GET", "/v1/observer/workflow/" + encodeURIComponent(id));
    const t = el("table", {}, el("caption", {}, `Run ${run.id}: ${run.status}`),
      el("thead", {}, el("tr", {}, ["Node", "Mode", "Status", "Duration (ms)", "Error"].map((h) => el("th", { scope: "col" }, h)))),
      el("tbody", {}, (run.nodes || []).map((n) => el("tr", {}, el("th", { scope: "row" }, n.id), el("td", {}, n.mode), el("td", {}, n.status),
        el("td", { class: "num" }, (n.duration_ms ?? 0).toFixed(1)), el("td", {}, n.error || "")))));
    $("workflow-detail").replaceChildren(t);
    if (run.status === "running") setTimeout(() => detail(id), 1000);
  } catch (e) { $("workflow-detail").textContent = e.message; }
}

$("activity-live").addEventListener("change", schedule);
$("activity-source").addEventListener("change", async () => { reset(); await poll(); });
