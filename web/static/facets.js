// A facet box, shared by the dataset page and candidate search: a
// column's values with their counts, the most frequent TOP first. A
// column rarely stops at ten values (fifteen cities, twenty roles), so
// "Show N more" lists up to MORE, and a search box, shown once there is
// more than one screen of values, finds any value by part of its text.
"use strict";
import { el } from "./api.js";

export const TOP = 10;
export const MORE = 200;

// facetBox builds the box for col. values(q, limit) answers the values
// containing q (any case), most frequent first, at most limit of them:
// {rows: [[value, count], …], total: how many values contain q}.
// state ({more, q}) outlives the box: the dataset page rebuilds its
// facets on every change of the view, and an open list should stay open.
// selected(v) says whether v is a chosen filter, pick(v) toggles it;
// remove, when given, takes the facet away. box.ready settles when the
// values are on screen.
export function facetBox({ col, state, values, selected, pick, remove }) {
  const list = el("ul", {});
  const find = el("input", { type: "search", class: "facet-find", "aria-label": `Find a value of ${col}`, placeholder: "find a value…", value: state.q || "" });
  const more = el("button", { type: "button", class: "link facet-more", "aria-expanded": "false" });
  const box = el("section", { class: "facet", "aria-label": `Facet ${col}`, dataset: { col } },
    el("h3", {}, col, remove ? el("button", { type: "button", class: "link", "aria-label": `Remove facet ${col}`, onclick: remove }, "✕") : null),
    find, list, more);
  let seq = 0; // the latest fill wins when typing outruns the server
  async function fill() {
    const mine = ++seq;
    const limit = state.more ? MORE : TOP;
    const r = await values(state.q || "", limit);
    if (mine !== seq) return;
    list.replaceChildren(...r.rows.map(([v, n]) => el("li", {}, el("button", {
      type: "button", class: "facet-value", "aria-pressed": String(selected(v)), dataset: { col, val: v ?? "" },
      onclick: () => pick(v),
    }, el("span", {}, v === null ? "null" : String(v)), el("span", { class: "count" }, Number(n).toLocaleString("en-US"))))));
    if (!r.rows.length) list.replaceChildren(el("li", { class: "meta" }, state.q ? `no ${col} contains “${state.q}”` : "no values"));
    const rest = r.total - r.rows.length;
    find.hidden = !state.q && r.total <= TOP;
    more.hidden = !state.more && rest <= 0;
    more.textContent = state.more ? (rest > 0 ? `Show fewer (${rest.toLocaleString("en-US")} more: find them by name)` : "Show fewer")
      : `Show ${rest.toLocaleString("en-US")} more`;
    more.setAttribute("aria-expanded", String(!!state.more));
  }
  let timer = 0;
  find.addEventListener("input", () => {
    clearTimeout(timer);
    timer = setTimeout(() => { state.q = find.value.trim(); fill().catch(() => {}); }, 150);
  });
  more.addEventListener("click", () => { state.more = !state.more; fill().catch(() => {}); });
  box.ready = fill();
  return box;
}

// listValues is values() over a list already at hand ([[value, count]…],
// most frequent first), e.g. the facet counts of a search answer.
export function listValues(rows) {
  return async (q, limit) => {
    const needle = q.toLowerCase();
    const hit = needle ? rows.filter(([v]) => String(v ?? "null").toLowerCase().includes(needle)) : rows;
    return { rows: hit.slice(0, limit), total: hit.length };
  };
}
