// semspace page: the two optional controls (issue 21), out of the way until used. The filter (a collapsed field
// under "search in") sends its conditions as `filter` with every search. The weighted terms: each hit has
// "more like this" (+) and "less like this" (−); pressing one adds the item as a term (weight +1 or −1) to a bar
// above the results, next to the panel's own query, and the panel searches POST /api/search/terms (docs/queries.md)
// until the bar is cleared. A plain script sharing app.js's scope ($, state, api, run, showAnswer, ...).
"use strict";

const Terms = (() => {
  // A newline always starts a condition; a comma only before "NAME OP", so a glob's "[a,b]" stays whole.
  const SPLIT = /\n|,(?=\s*[A-Za-z_][\w.-]*\s*(?:!=|>=|<=|=|>|<))/;

  /** The filter's conditions, as the API takes them (a list of "NAME OP VALUE" strings; [] when empty). */
  function conditions() {
    return $("filter").value.split(SPLIT).map((c) => c.trim()).filter(Boolean);
  }

  function countConditions() {
    const n = conditions().length;
    $("filter-count").textContent = n ? ` · ${n} condition${n === 1 ? "" : "s"}` : "";
  }

  /** The image panel's query (``state.query``) as a first term: a picture file or an indexed item. */
  function base(query, modify) {
    const extra = modify ? ` + “${modify}”` : "";
    if (query.file) return { kind: "image", blob: query.file, modify, label: `${query.file.name}${extra}` };
    return { kind: "item", item: query.item.id, modify, label: `item #${query.item.id}${extra}` };
  }

  async function base64(blob) {
    const bytes = new Uint8Array(await blob.arrayBuffer());
    let s = "";
    for (let i = 0; i < bytes.length; i += 0x8000) s += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
    return btoa(s);
  }

  /** One term of the bar as the API's JSON: its kind, its text / item / picture (base64) and its weight. */
  async function apiTerm(t) {
    const term = { kind: t.kind, weight: t.weight };
    if (t.kind === "text") term.text = t.text;
    else if (t.kind === "item") term.item = t.item;
    else term.data = await base64(t.blob);
    if (t.modify) term.modify = t.modify;
    return term;
  }

  /** The hit's two small buttons, next to (not inside) the hit's own <button>; <input type="button">, so the
   * hit stays the card's one <button> element. */
  function hitButtons(item, onTerm) {
    const tools = document.createElement("span");
    tools.className = "hit-terms";
    for (const [sign, mark, what] of [[1, "+", "more like this"], [-1, "−", "less like this"]]) {
      const b = document.createElement("input");
      b.type = "button";
      b.className = sign > 0 ? "more" : "less";
      b.value = mark;
      b.title = `${what}: add item #${item.id} to the query (weight ${sign > 0 ? "+1" : "−1"})`;
      b.setAttribute("aria-label", `${what} (item ${item.id})`);
      b.addEventListener("click", () => onTerm(item, sign));
      tools.appendChild(b);
    }
    return tools;
  }

  /** "more/less like this" on a hit: the item joins the panel's terms (again: its weight moves by one). */
  function add(item, sign) {
    const panel = state.panel;
    if (!state.base[panel]) return;
    if (!state.terms[panel]) state.terms[panel] = { list: [{ ...state.base[panel], weight: 1 }], plain: state.answers[panel] };
    const list = state.terms[panel].list;
    const i = list.findIndex((t) => t.added && t.item === item.id);
    const name = item.name || item.caption || "";
    if (i < 0) list.push({ kind: "item", item: item.id, weight: sign, added: true, label: `#${item.id} ${name}`.trim() });
    else if ((list[i].weight += sign) === 0) list.splice(i, 1);
    return list.some((t) => t.added) ? search() : clear();
  }

  /** × on a term: without it (and with an added item left) the terms search again; else the plain panel. */
  function drop(i) {
    const list = state.terms[state.panel].list;
    list.splice(i, 1);
    return list.some((t) => t.added) ? search() : clear();
  }

  function clear() {
    const panel = state.panel;
    const bar = state.terms[panel];
    delete state.terms[panel];
    if (bar) state.answers[panel] = bar.plain; // the plain query's own results, as they were
    showError("");
    showAnswer(state.answers[panel]);
  }

  async function search() {
    const list = state.terms[state.panel].list;
    const body = { terms: await Promise.all(list.map(apiTerm)), k: Number($("k").value) };
    const where = searchedCollections();
    if (where.length) body.in_domains = where;
    if ($("keep-query").checked) body.keep_query = true;
    const filter = conditions();
    if (filter.length) body.filter = filter;
    return run(() => api("/api/search/terms", {
      method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body),
    }));
  }

  /** The bar above the results: the shown panel's terms with their weights and an × each; hidden when none. */
  function render() {
    const bar = state.terms[state.panel];
    $("terms").hidden = !bar;
    $("terms-list").replaceChildren(...(bar ? bar.list : []).map((t, i) => {
      const li = document.createElement("li");
      li.className = t.weight < 0 ? "term less" : "term";
      li.dataset.kind = t.kind;
      if (t.kind === "item") li.dataset.item = String(t.item);
      const weight = document.createElement("span");
      weight.className = "weight";
      weight.textContent = `${t.weight < 0 ? "−" : "+"}${Math.abs(t.weight)}`;
      const label = document.createElement("span");
      label.className = "term-label";
      label.textContent = t.label;
      const x = document.createElement("button");
      x.type = "button";
      x.className = "term-drop";
      x.textContent = "×";
      x.title = "drop this term";
      x.setAttribute("aria-label", `drop ${t.label}`);
      x.addEventListener("click", () => drop(i));
      li.append(weight, label, x);
      return li;
    }));
  }

  function setup() {
    $("filter").addEventListener("input", countConditions);
    $("terms-clear").addEventListener("click", clear);
  }

  return { conditions, base, hitButtons, add, render, setup };
})();
