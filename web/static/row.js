// Row pages: one row of a keyed dataset (#/datasets/<name>/row?<key>=<value>),
// its foreign keys as links to the rows they name, and the rows of other
// datasets that reference it (with counts), plus the rows one foreign key
// further (a candidate's placements lead to their job orders). Everything
// comes from the keys the catalog holds: nothing here knows the demo.
"use strict";
import { $, api, el, ident, sql, fmtCell, datasets, showError } from "./api.js";

const SHOWN = 10; // rows shown per related dataset; the rest are a link away

// Columns that name a row better than its key, in order of preference.
const LABELS = ["name", "full_name", "title", "subject", "display_name"];

let keyCache = { at: 0, map: null };

// allKeys maps each dataset with a key or foreign keys to them (cached a
// few seconds: a row page and the rows table both ask).
export async function allKeys(fresh) {
  if (fresh || !keyCache.map || Date.now() - keyCache.at >= 5000) {
    const r = await api("GET", "/v1/catalog/keys");
    keyCache = { at: Date.now(), map: Object.fromEntries((r.datasets || []).map((d) => [d.name, d])) };
  }
  return keyCache.map;
}

// rowHref is the page of the row of dataset whose cols hold vals.
export function rowHref(dataset, cols, vals) {
  const q = new URLSearchParams();
  cols.forEach((c, i) => q.append(c, vals[i] === null || vals[i] === undefined ? "" : String(vals[i])));
  return "#/datasets/" + encodeURIComponent(dataset) + "/row?" + q.toString();
}

// datasetHref is a dataset's rows filtered to cols = vals.
export function datasetHref(dataset, cols, vals) {
  const q = new URLSearchParams();
  cols.forEach((c, i) => q.append("f." + c, String(vals[i])));
  return "#/datasets/" + encodeURIComponent(dataset) + "?" + q.toString();
}

// match is a WHERE over cols = vals as text (the URL carries text; the
// cast makes any key type compare), numbering params from start.
function match(alias, cols, start) {
  return cols.map((c, i) => `CAST(${alias}${ident(c)} AS VARCHAR) = $${start + i}`).join(" AND ");
}

// linker returns, for a dataset's result columns, a function that makes
// a cell a link: its key columns to its own row page, a foreign key's
// columns to the row they name.
export function linker(dataset, columns, keys) {
  const names = columns.map((c) => c.name);
  const k = keys[dataset] || {};
  const links = [];
  if ((k.key || []).length && k.key.every((c) => names.includes(c))) links.push({ target: dataset, cols: k.key, ref: k.key });
  for (const fk of k.foreign_keys || []) {
    if (fk.columns.every((c) => names.includes(c))) links.push({ target: fk.references, cols: fk.columns, ref: fk.ref_columns });
  }
  return (row, i) => {
    const l = links.find((x) => x.cols.includes(names[i]));
    if (!l) return null;
    const vals = l.cols.map((c) => row[names.indexOf(c)]);
    if (vals.some((v) => v === null || v === undefined)) return null;
    return rowHref(l.target, l.ref, vals);
  };
}

// linkedCell is fmtCell with the value as a link when href is given.
export function linkedCell(v, type, href) {
  const td = fmtCell(v, type);
  if (href) td.replaceChildren(el("a", { href }, td.textContent));
  return td;
}

function gridOf(dataset, res, keys, caption) {
  const link = linker(dataset, res.columns, keys);
  return el("div", { class: "scroll", tabindex: "0", role: "region", "aria-label": caption },
    el("table", { class: "grid" }, el("caption", { class: "sr-only" }, caption),
      el("thead", {}, el("tr", {}, res.columns.map((c) => el("th", { scope: "col" }, c.name)))),
      el("tbody", {}, res.rows.map((r) => el("tr", {}, r.map((v, i) => linkedCell(v, res.columns[i].type, link(r, i))))))));
}

// orderOf sorts related rows newest first when the dataset has a date.
function orderOf(schema, alias) {
  const d = (schema || []).find((c) => /^(TIMESTAMP|DATE)/i.test(c.type));
  return d ? ` ORDER BY ${alias}${ident(d.name)} DESC NULLS LAST` : "";
}

export async function show(args, query) {
  const name = args[0];
  $("row-back").href = "#/datasets/" + encodeURIComponent(name);
  $("row-back").textContent = "← " + name;
  $("row-title").textContent = name;
  $("row-meta").textContent = "";
  $("row-fields").replaceChildren();
  $("row-related").replaceChildren();
  showError("row-error", null);
  try {
    const [keys, list] = await Promise.all([allKeys(true), datasets()]);
    const info = keys[name];
    const key = (info && info.key) || [];
    if (!key.length) {
      throw new Error(`${name} declares no key, so its rows have no pages (PUT /v1/catalog/keys/${name} or lakehouse catalog keys ${name} --key COLUMN).`);
    }
    const missing = key.filter((c) => !query.has(c));
    if (missing.length) throw new Error(`The address names no ${missing.join(", ")}: a row of ${name} is found by its key (${key.join(", ")}).`);
    const vals = key.map((c) => query.get(c));
    const r = await sql(`SELECT * FROM ${ident(name)} WHERE ${match("", key, 1)} LIMIT 2`, vals);
    const shownKey = key.map((c, i) => `${c} = ${vals[i]}`).join(", ");
    if (!r.rows.length) throw new Error(`No row of ${name} has ${shownKey}.`);
    const row = r.rows[0];
    const names = r.columns.map((c) => c.name);
    const label = LABELS.find((c) => names.includes(c) && row[names.indexOf(c)] !== null);
    $("row-title").textContent = label ? `${row[names.indexOf(label)]}` : `${name} ${vals.join(" · ")}`;
    document.title = `${$("row-title").textContent} · ${name} · lakehouse`;
    $("row-meta").textContent = `${name} · ${shownKey}` + (r.rows.length > 1 ? " · the key is not unique: more rows share it" : "");
    const link = linker(name, r.columns, keys);
    $("row-fields").replaceChildren(...r.columns.flatMap((c, i) => {
      const href = link(row, i);
      const v = row[i];
      const text = v === null ? "null" : typeof v === "object" ? JSON.stringify(v) : String(v);
      return [el("dt", {}, c.name), el("dd", { class: v === null ? "null" : undefined }, href && !key.includes(c.name) ? el("a", { href }, text) : text)];
    }));
    await related(name, info, names, row, keys, list);
  } catch (e) { showError("row-error", e); }
}

// related lists each referencing dataset's rows, then the datasets one
// foreign key further from those (each dataset once, direct ones first).
async function related(name, info, names, row, keys, list) {
  const schemaOf = (d) => (list.find((x) => x.name === d) || {}).schema || [];
  const refs = (info.referenced_by || []).filter((r) => list.some((d) => d.name === r.dataset));
  const direct = new Set(refs.map((r) => r.dataset));
  const through = [];
  const seen = new Set([name, ...direct]);
  for (const r of refs) {
    for (const fk of (keys[r.dataset] || {}).foreign_keys || []) {
      if (seen.has(fk.references) || !list.some((d) => d.name === fk.references)) continue;
      seen.add(fk.references);
      through.push({ via: r, fk });
    }
  }
  const sections = await Promise.all([
    ...refs.map(async (r) => {
      const vals = r.ref_columns.map((c) => row[names.indexOf(c)]);
      const where = match("", r.columns, 1);
      const [cnt, rows] = await Promise.all([
        sql(`SELECT COUNT(*) FROM ${ident(r.dataset)} WHERE ${where}`, vals.map(String)),
        sql(`SELECT * FROM ${ident(r.dataset)} WHERE ${where}${orderOf(schemaOf(r.dataset), "")} LIMIT ${SHOWN}`, vals.map(String)),
      ]);
      return section(`rel-${r.dataset}-${r.columns.join("-")}`, r.dataset, `${r.dataset}`, `referencing it by ${r.columns.join(", ")}`, cnt.rows[0][0], rows, keys,
        datasetHref(r.dataset, r.columns, vals));
    }),
    ...through.map(async ({ via, fk }) => {
      const vals = via.ref_columns.map((c) => row[names.indexOf(c)]);
      // EXISTS over the referencing rows: the target rows they name.
      const joins = fk.columns.map((c, i) => `r.${ident(c)} = t.${ident(fk.ref_columns[i])}`).join(" AND ");
      const from = `${ident(fk.references)} t WHERE EXISTS (SELECT 1 FROM ${ident(via.dataset)} r WHERE ${match("r.", via.columns, 1)} AND ${joins})`;
      const [cnt, rows] = await Promise.all([
        sql(`SELECT COUNT(*) FROM ${from}`, vals.map(String)),
        sql(`SELECT t.* FROM ${from}${orderOf(schemaOf(fk.references), "t.")} LIMIT ${SHOWN}`, vals.map(String)),
      ]);
      return section(`rel-${fk.references}`, fk.references, `${fk.references}`, `through ${via.dataset}.${fk.columns.join(", ")}`, cnt.rows[0][0], rows, keys, null);
    }),
  ]);
  $("row-related").replaceChildren(...sections);
}

function section(id, dataset, title, how, count, res, keys, allHref) {
  return el("section", { class: "card related", "aria-labelledby": id, dataset: { dataset } },
    el("h2", { id, class: "h3" }, title, " ", el("span", { class: "count" }, `${count.toLocaleString("en-US")} row${count === 1 ? "" : "s"}`),
      " ", el("span", { class: "meta" }, how)),
    count ? gridOf(dataset, res, keys, `${dataset} rows`) : el("p", { class: "meta" }, "none"),
    count && allHref ? el("p", {}, el("a", { href: allHref, class: "see-all" }, `Browse ${count === 1 ? "it" : `all ${count.toLocaleString("en-US")}`} in ${dataset}`)) : null);
}
