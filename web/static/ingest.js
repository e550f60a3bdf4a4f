// Ingest: drag-and-drop upload (CSV, TSV, JSON, Parquet, xlsx: the server
// detects the format by the file name and its first bytes) with progress;
// append, replace, or upsert / delete by key; schema drift is shown as a
// column diff with the choice to replace or cancel.
"use strict";
import { $, el, csrfToken, toast } from "./api.js";

let pendingFile = null;

export function show() {}

const zone = $("dropzone");
for (const t of ["dragenter", "dragover"]) zone.addEventListener(t, (e) => { e.preventDefault(); zone.classList.add("over"); });
for (const t of ["dragleave", "drop"]) zone.addEventListener(t, () => zone.classList.remove("over"));
zone.addEventListener("drop", (e) => {
  e.preventDefault();
  const f = e.dataTransfer.files[0];
  if (f) useFile(f);
});
$("ingest-file").addEventListener("change", (e) => { if (e.target.files[0]) useFile(e.target.files[0]); });

function useFile(f) {
  pendingFile = f;
  zone.firstChild.textContent = `${f.name} (${(f.size / 1024).toFixed(1)} KiB) — drop another to change `;
  if (!$("ingest-name").value) $("ingest-name").value = f.name.replace(/\.[^.]*$/, "").toLowerCase().replace(/[^a-z0-9_]+/g, "_").replace(/^[^a-z]+/, "").slice(0, 63);
}

function status(msg, cls) { const s = $("ingest-status"); s.className = "msg " + (cls || ""); s.textContent = msg; }

// upload posts the file with XMLHttpRequest, whose upload events give
// progress (fetch has none), and resolves with {status, body}.
function upload(file, name, mode, key) {
  return new Promise((resolve, reject) => {
    const fd = new FormData();
    fd.append("file", file, file.name);
    const xhr = new XMLHttpRequest();
    let url = `/v1/ingest?name=${encodeURIComponent(name)}&mode=${mode}`;
    if (key && (mode === "upsert" || mode === "delete")) url += `&key=${encodeURIComponent(key)}`;
    xhr.open("POST", url);
    if (csrfToken()) xhr.setRequestHeader("X-CSRF-Token", csrfToken());
    const bar = $("ingest-progress");
    bar.hidden = false; bar.value = 0;
    xhr.upload.addEventListener("progress", (e) => { if (e.lengthComputable) bar.value = Math.round((100 * e.loaded) / e.total); });
    xhr.addEventListener("load", () => {
      bar.value = 100;
      let body = null;
      try { body = JSON.parse(xhr.responseText); } catch (_) { body = { error: { message: xhr.responseText } }; }
      resolve({ status: xhr.status, body });
    });
    xhr.addEventListener("error", () => reject(new Error("upload failed (network)")));
    xhr.send(fd);
  });
}

async function run(mode) {
  const name = $("ingest-name").value.trim();
  if (!pendingFile) { status("Choose or drop a file first.", "error"); return; }
  if (!$("ingest-name").checkValidity()) { status("Dataset name: lower-case letters, digits and _, starting with a letter.", "error"); return; }
  $("drift").hidden = true;
  status("uploading…");
  try {
    const { status: code, body } = await upload(pendingFile, name, mode, $("ingest-key").value.trim());
    if (code === 200 || code === 201) {
      const ch = body.ingest && body.ingest.change;
      const n = (x) => x.toLocaleString("en-US");
      if (ch) {
        status((code === 200 ? `${body.name} v${body.version}: nothing changed` : `${body.name} v${body.version}`) +
          ` by ${ch.key.join(", ")}: ${n(ch.inserted)} added, ${n(ch.updated)} updated, ${n(ch.unchanged)} unchanged, ` +
          `${n(ch.deleted)} deleted, ${n(ch.unknown_keys)} keys not found; ${n(body.row_count)} rows.`, "ok");
      } else {
        status(code === 200 ? `${body.name} v${body.version} already holds this file (nothing changed).` :
          `Ingested ${body.name} v${body.version}: ${n(body.row_count)} rows.`, "ok");
      }
      toast(`${body.name} v${body.version}`);
      const a = el("a", { href: "#/datasets/" + encodeURIComponent(body.name) }, " Browse it →");
      $("ingest-status").append(a);
    } else if (code === 409 && body.error && body.error.code === "schema_drift") {
      showDrift(body.error.details || {});
      status("The file does not match the dataset's columns; see the differences below.", "error");
    } else {
      status(`${code} ${body.error ? body.error.code + ": " + body.error.message : ""}`, "error");
    }
  } catch (e) { status(e.message, "error"); }
}

function showDrift(d) {
  const rows = [];
  const nameOf = (x) => (typeof x === "string" ? x : x.name || JSON.stringify(x));
  for (const c of d.added || []) rows.push(["added", nameOf(c), "—", typeof c === "object" ? c.type || "new" : "new column"]);
  for (const c of d.removed || []) rows.push(["removed", nameOf(c), typeof c === "object" ? c.type || "present" : "present", "—"]);
  for (const c of d.changed || []) rows.push(["changed", c.column || c.name, c.from, c.to]);
  if (d.reordered) rows.push(["changed", "(column order)", "", "reordered"]);
  if (!rows.length) rows.push(["changed", "(schema)", d.latest_schema_fingerprint || "", d.schema_fingerprint || ""]);
  $("drift-table").querySelector("tbody").replaceChildren(...rows.map(([kind, col, from, to]) => el("tr", { class: "drift-row" },
    el("th", { scope: "row" }, col), el("td", { class: "change-" + kind }, kind), el("td", {}, from), el("td", {}, to))));
  $("drift").hidden = false;
  $("drift-replace").focus();
}

for (const r of document.querySelectorAll('input[name="ingest-mode"]')) {
  r.addEventListener("change", () => {
    const m = document.querySelector('input[name="ingest-mode"]:checked').value;
    $("ingest-key-row").hidden = m !== "upsert" && m !== "delete";
  });
}

$("ingest-form").addEventListener("submit", (ev) => {
  ev.preventDefault();
  run(document.querySelector('input[name="ingest-mode"]:checked').value);
});
$("drift-replace").addEventListener("click", () => run("replace"));
$("drift-cancel").addEventListener("click", () => { $("drift").hidden = true; status("Cancelled: nothing was changed.", ""); });
