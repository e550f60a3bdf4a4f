// Memory: pathway traces — search, history chains, retire.
"use strict";
import { $, api, el, showError, toast } from "./api.js";

export async function show() {
  await Promise.all([stats(), search()]);
}

async function stats() {
  try {
    const s = await api("GET", "/v1/pathway/stats");
    $("memory-stats").textContent = `${s.total} traces · ${s.active} active · ${s.retired} retired`;
  } catch (e) { showError("memory-error", e); }
}

const ns = (t) => (t ? new Date(t / 1e6).toISOString().replace("T", " ").slice(0, 19) : "");

function preview(content) {
  if (content && typeof content === "object" && content.type === "shortlist") {
    return `shortlist “${content.name}”: ${(content.candidates || []).map((c) => c.name || c.id).join(", ")}${content.note ? " — " + content.note : ""}`;
  }
  const s = typeof content === "string" ? content : JSON.stringify(content);
  return s.length > 200 ? s.slice(0, 200) + "…" : s;
}

async function search() {
  showError("memory-error", null);
  const body = { limit: 100 };
  const text = $("memory-text").value.trim();
  const tag = $("memory-tag").value.trim();
  if (text) body.text = text;
  if (tag) body.tags = [tag];
  try {
    const r = await api("POST", "/v1/pathway/search", body);
    $("memory-results").querySelector("tbody").replaceChildren(...(r.results || []).map((t) => el("tr", {},
      el("th", { scope: "row" }, el("code", {}, t.uid.slice(0, 12))),
      el("td", {}, (t.tags || []).join(", ")),
      el("td", {}, preview(t.content)),
      el("td", {}, ns(t.created_at_ns)),
      el("td", {},
        el("button", { type: "button", class: "secondary history", onclick: () => history(t.uid) }, "History"), " ",
        el("button", { type: "button", class: "secondary retire", onclick: () => retire(t.uid) }, "Retire")))));
  } catch (e) { showError("memory-error", e); }
}

async function history(uid) {
  try {
    const h = await api("GET", "/v1/pathway/history/" + encodeURIComponent(uid));
    $("memory-history").replaceChildren(...(h.chain || []).map((t) => el("li", {},
      el("code", {}, t.uid.slice(0, 12)), ` ${ns(t.created_at_ns)}${t.retired ? " (retired)" : ""}: ${preview(t.content)}`)));
    $("memory-history-box").hidden = false;
  } catch (e) { showError("memory-error", e); }
}

async function retire(uid) {
  try {
    await api("POST", "/v1/pathway/retire", { uid });
    toast("Trace retired");
    await show();
  } catch (e) { showError("memory-error", e); }
}

$("memory-form").addEventListener("submit", (ev) => { ev.preventDefault(); search(); });
