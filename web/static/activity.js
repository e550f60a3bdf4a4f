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

function row(ev) {
  const what = ev.endpoint || [ev.method, ev.route].filter(Boolean).join(" ");
  return el("tr", { class: ev.success === false ? "failed" : undefined },
    el("td", {}, when(ev.timestamp)), el("td", {}, ev.source || ""),
    el("td", {}, what, ev.path && ev.path !== ev.route ? el("span", { class: "meta" }, " " + ev.path) : null,
      ev.error ? el("div", { class: "msg error" }, ev.error) : null),
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
