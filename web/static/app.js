// lakehouse workbench: routing, login and the header. Each page lives in
// its own module and exposes show(args).
"use strict";
import { $, api, setAuth, showError } from "./api.js";
import * as datasets from "./datasets.js";
import * as sqlPage from "./sql.js";
import * as search from "./search.js";
import * as memory from "./memory.js";
import * as ingest from "./ingest.js";
import * as activity from "./activity.js";
import * as rowPage from "./row.js";

const pages = {
  datasets: { section: "page-datasets", show: datasets.showList },
  dataset: { section: "page-dataset", show: datasets.showDataset, nav: "datasets" },
  row: { section: "page-row", show: rowPage.show, nav: "datasets" },
  sql: { section: "page-sql", show: sqlPage.show },
  search: { section: "page-search", show: search.show },
  memory: { section: "page-memory", show: memory.show },
  ingest: { section: "page-ingest", show: ingest.show },
  activity: { section: "page-activity", show: activity.show, hide: activity.hide },
};

let session = { authenticated: false };
let current = null;

// route parses #/page/arg?query.
function route() {
  const h = location.hash.replace(/^#\/?/, "");
  const [path, qs] = h.split("?");
  const parts = path.split("/").filter(Boolean).map(decodeURIComponent);
  let name = parts[0] || "datasets";
  if (name === "datasets" && parts[1]) name = parts[2] === "row" ? "row" : "dataset";
  return { name: pages[name] ? name : "datasets", args: parts.slice(1), query: new URLSearchParams(qs || "") };
}

function showSection(id) {
  for (const s of document.querySelectorAll("main > .page")) s.hidden = s.id !== id;
}

async function render() {
  if (!session.authenticated) {
    showSection("page-login");
    $("login-token").focus();
    return;
  }
  const r = route();
  const page = pages[r.name];
  if (current && current !== page && current.hide) current.hide();
  current = page;
  for (const a of document.querySelectorAll("#nav a")) {
    if (a.dataset.page === (page.nav || r.name)) a.setAttribute("aria-current", "page"); else a.removeAttribute("aria-current");
  }
  showSection(page.section);
  document.title = `${$(page.section).querySelector("h1").textContent || r.name} · lakehouse`;
  try { await page.show(r.args, r.query); } catch (e) { console.error(e); }
}

async function loadSession() {
  try {
    session = await api("GET", "/v1/session");
  } catch (e) { session = { authenticated: false, auth_required: true }; }
  setAuth({ csrf: session.csrf_token || "", required: session.auth_required });
  $("logout").hidden = !(session.authenticated && session.via === "session");
  $("whoami").textContent = session.authenticated ? (session.auth_required ? `signed in (${session.principal})` : "development mode") : "";
}

$("login-form").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  showError("login-error", null);
  try {
    await api("POST", "/v1/session", { token: $("login-token").value });
    $("login-token").value = "";
    await loadSession();
    render();
  } catch (e) { showError("login-error", e.status === 401 ? new Error("That token is not valid.") : e); }
});

$("logout").addEventListener("click", async () => {
  try { await api("DELETE", "/v1/session"); } catch (_) { /* the cookie is cleared either way */ }
  await loadSession();
  render();
});

async function health() {
  const h = $("health");
  try {
    const d = await (await fetch("/health")).json();
    h.textContent = `${d.status} · ${d.version}`; h.className = "pill ok";
  } catch (e) { h.textContent = "server down"; h.className = "pill bad"; }
}

setAuth({ onUnauthorized: () => { if (session.authenticated) { session = { authenticated: false }; render(); } } });
window.addEventListener("hashchange", render);
health();
setInterval(health, 30000);
await loadSession();
render();
