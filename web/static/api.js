// Shared helpers: the API client (session cookie + CSRF token), DOM
// building, SQL quoting and result tables. No inline styles or scripts:
// the server's Content-Security-Policy forbids them.
"use strict";

export const $ = (id) => document.getElementById(id);

const auth = { csrf: "", required: false, onUnauthorized: () => {} };
export function setAuth(a) { Object.assign(auth, a); }

// api calls the server; the browser sends the session cookie itself and
// writes carry the session's CSRF token. It throws an Error carrying the
// server's message (and .status, .code, .details).
export async function api(method, path, body, opts = {}) {
  const headers = { Accept: "application/json" };
  let payload = body;
  if (body !== undefined && !opts.raw) { headers["Content-Type"] = "application/json"; payload = JSON.stringify(body); }
  if (method !== "GET" && auth.csrf) headers["X-CSRF-Token"] = auth.csrf;
  const resp = await fetch(path, { method, headers, body: payload, signal: opts.signal, credentials: "same-origin" });
  const text = await resp.text();
  let data = null;
  try { data = text ? JSON.parse(text) : null; } catch (_) { data = text; }
  if (!resp.ok) {
    const e = new Error(data && data.error ? `${resp.status} ${data.error.code}: ${data.error.message}` : `${resp.status}: ${text}`);
    e.status = resp.status; e.code = data && data.error && data.error.code; e.details = data && data.error && data.error.details;
    if (resp.status === 401) auth.onUnauthorized();
    throw e;
  }
  return data;
}

export function csrfToken() { return auth.csrf; }

// el builds an element: attrs with on* keys become listeners, "class"
// and plain attributes are set, children may be nodes or text.
export function el(tag, attrs, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith("on")) e.addEventListener(k.slice(2), v);
    else if (k === "dataset") Object.assign(e.dataset, v);
    else e.setAttribute(k, v === true ? "" : v);
  }
  for (const c of children.flat()) {
    if (c === undefined || c === null) continue;
    e.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return e;
}

export function toast(msg) {
  const t = $("toast");
  t.textContent = msg;
  clearTimeout(toast.timer);
  toast.timer = setTimeout(() => { t.textContent = ""; }, 4000);
}

export function showError(id, err) { $(id).textContent = err ? (err.message || String(err)) : ""; }

// SQL helpers: identifiers are double-quoted; values always go as params.
export const ident = (name) => '"' + String(name).replaceAll('"', '""') + '"';
export const isNumericType = (t) => /^(TINYINT|SMALLINT|INTEGER|BIGINT|HUGEINT|UTINYINT|USMALLINT|UINTEGER|UBIGINT|FLOAT|REAL|DOUBLE|DECIMAL)/i.test(t || "");

export async function sql(query, params, limit, signal) {
  return api("POST", "/v1/sql", { sql: query, params: params || [], limit: limit || 0 }, { signal });
}

// exportURL is a GET the browser's download manager streams to disk.
export function exportURL(query, params, format, filename) {
  const q = new URLSearchParams({ sql: query, format, filename: filename || "export" });
  if (params && params.length) q.set("params", JSON.stringify(params));
  return "/v1/workbench/export?" + q.toString();
}

export function fmtCell(v, type) {
  if (v === null || v === undefined) return el("td", { class: "null" }, "null");
  if (typeof v === "object") return el("td", {}, el("span", { class: "cell" }, JSON.stringify(v)));
  if (typeof v === "number" || isNumericType(type)) return el("td", { class: "num" }, typeof v === "number" ? v.toLocaleString("en-US", { maximumFractionDigits: 6 }) : v);
  const s = String(v);
  return el("td", {}, el("span", { class: "cell", title: s.length > 60 ? s : undefined }, s));
}

// resultTable renders a /v1/sql answer with typed headers.
export function resultTable(table, res, headerExtra) {
  const head = el("tr", {}, res.columns.map((c, i) => el("th", { scope: "col", class: isNumericType(c.type) ? "num" : undefined },
    headerExtra ? headerExtra(c, i) : [c.name, el("span", { class: "type" }, c.type)])));
  const body = el("tbody", {}, res.rows.map((r) => el("tr", {}, r.map((v, i) => fmtCell(v, res.columns[i].type)))));
  const cap = table.querySelector("caption");
  table.replaceChildren(...(cap ? [cap] : []), el("thead", {}, head), body);
}

export function human(n) {
  if (n == null) return "";
  if (n >= 1 << 30) return (n / (1 << 30)).toFixed(2) + " GiB";
  if (n >= 1 << 20) return (n / (1 << 20)).toFixed(1) + " MiB";
  if (n >= 1 << 10) return (n / (1 << 10)).toFixed(1) + " KiB";
  return n + " B";
}

export function when(ts) {
  if (!ts) return "";
  const d = new Date(ts);
  return isNaN(d) ? String(ts) : d.toISOString().replace("T", " ").slice(0, 19);
}

// datasets caches the catalog list for a few seconds (several pages use it).
// Internal datasets (the audit trail, observer_events) are left out unless
// withInternal: they are not the team's data.
let dsCache = { at: 0, list: null };
export async function datasets(fresh, withInternal) {
  if (fresh || !dsCache.list || Date.now() - dsCache.at >= 5000) {
    const d = await api("GET", "/v1/catalog/list");
    dsCache = { at: Date.now(), list: (d.datasets || []).filter((x) => !x.name.startsWith("_")) };
  }
  return withInternal ? dsCache.list : dsCache.list.filter((x) => !x.internal);
}
