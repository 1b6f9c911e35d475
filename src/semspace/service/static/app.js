// semspace page: plain JavaScript, no build step. It asks /api/info what the loaded run can do and shows only
// those panels; every search answers a list of hits drawn as a grid; clicking a hit makes it the next query.
// A new panel is one <section data-panel="NAME"> in index.html, one PANELS entry below and one row in panels.py.
// describe.js words the run (chips, defaults, placeholders); panels.js has the sketch and translate panels;
// terms.js the optional controls: the filter and the weighted terms ("more/less like this" on each hit).
"use strict";

const $ = (id) => document.getElementById(id);
const state = {
  info: null,
  token: sessionStorage.getItem("semspace-token") || "",
  query: null, // {file: File} or {item: Item}: the image panel's query
  panel: null,
  busy: 0,
  galleryOffset: 0,
  objectUrls: [],
  answers: {}, // panel name -> its last answer: each panel keeps its own results
  where: {}, // panel name -> the "search in" choice the user made there
  groups: {}, // a "search in" value -> the collections it searches
  base: {}, // panel name -> its last plain query, as the first term of a terms query (terms.js)
  terms: {}, // panel name -> {list: [terms], plain: the plain answer} while its terms bar is in use
};
const TOKEN_NEEDED = "this server needs a token: type it above";
const TOKEN_REFUSED = "the token was refused: check it and type it again above";

// ---- talking to the API --------------------------------------------------------------------------------------
async function api(path, options = {}) {
  const headers = new Headers(options.headers || {});
  if (state.token) headers.set("Authorization", `Bearer ${state.token}`);
  let response;
  try {
    response = await fetch(path, { ...options, headers });
  } catch (err) {
    throw new Error(`the server cannot be reached (${err.message}); is semspace serve still running?`);
  }
  if (response.status === 401) {
    $("token-form").hidden = false;
    // The page knows whether it sent a token: none -> one is needed; one -> it was the wrong one.
    if (state.token) $("token").select();
    const error = new Error(state.token ? TOKEN_REFUSED : TOKEN_NEEDED);
    error.status = 401;
    throw error;
  }
  if (!response.ok) {
    let detail = `${response.status} ${response.statusText}`;
    try {
      const body = await response.json();
      if (body && body.detail) detail = body.detail;
    } catch (_) { /* not JSON */ }
    const error = new Error(detail);
    error.status = response.status;
    throw error;
  }
  return response;
}

function setImage(img, url) {
  // With a token the browser cannot add the header to <img src>, so the picture is fetched and shown as a blob.
  if (!url) return;
  if (!state.token) { img.src = url; return; }
  api(url).then((r) => r.blob()).then((blob) => {
    const u = URL.createObjectURL(blob);
    state.objectUrls.push(u);
    img.src = u;
  }).catch(() => img.classList.add("broken"));
}

function busy(on) {
  state.busy += on ? 1 : -1;
  document.body.classList.toggle("busy", state.busy > 0);
  document.querySelectorAll("button.primary").forEach((b) => { b.disabled = state.busy > 0; });
}

function showError(message) {
  const box = $("error");
  box.textContent = message;
  box.hidden = !message;
}

// ---- results ---------------------------------------------------------------------------------------------------
function itemCard(item, { onPick, onTerm, score, rank } = {}) {
  const li = document.createElement("li");
  const button = document.createElement("button");
  button.type = "button";
  button.className = "hit";
  button.dataset.id = String(item.id);
  const title = [item.label && `label ${item.label}`, item.domain, item.name].filter(Boolean).join(" · ");
  button.title = `${title}\nclick: search from this item`;
  if (item.thumbnail) {
    const img = document.createElement("img");
    img.alt = item.caption || item.label || `item ${item.id}`;
    img.loading = "lazy";
    img.addEventListener("load", () => { if (img.naturalWidth < 100) img.classList.add("pixelated"); });
    setImage(img, item.thumbnail);
    button.appendChild(img);
  } else {
    const p = document.createElement("p");
    p.className = "caption-card";
    p.textContent = item.caption || item.name || `item ${item.id}`;
    button.appendChild(p);
  }
  if (score !== undefined) {
    const meta = document.createElement("span");
    meta.className = "hit-meta";
    meta.innerHTML = `<span class="rank">#${rank}</span><span class="score">${score.toFixed(3)}</span>`;
    const bar = document.createElement("span");
    bar.className = "bar";
    const fill = document.createElement("span");
    fill.style.width = `${Math.max(0, Math.min(1, (score + 1) / 2)) * 100}%`;
    bar.appendChild(fill);
    button.append(meta, bar);
    const sub = document.createElement("span");
    sub.className = "hit-sub";
    sub.textContent = item.domain;
    button.appendChild(sub);
  }
  button.addEventListener("click", () => onPick && onPick(item));
  li.appendChild(button);
  if (onTerm) li.appendChild(Terms.hitButtons(item, onTerm));
  return li;
}

const KEEP_HINT = "tick “include the query itself” to see them";

function showAnswer(answer) {
  const grid = $("results");
  Terms.render();
  if (!answer) { // this panel has no results (yet, or its last search failed)
    grid.replaceChildren();
    $("meta").textContent = "";
    $("notes").replaceChildren();
    $("empty").querySelector("p").textContent = Describe.emptyText(state.info);
    $("empty").hidden = false;
    if (state.panel === "image") $("unknown").hidden = true;
    return;
  }
  grid.replaceChildren(...answer.hits.map((h) => itemCard(h, {
    score: h.score, rank: h.rank, onPick: searchFromItem, onTerm: Terms.add,
  })));
  $("empty").hidden = answer.hits.length > 0;
  if (!answer.hits.length) $("empty").querySelector("p").textContent = "No results.";
  const q = answer.query;
  const what = q.kind === "item" ? `item #${q.item.id}` : q.kind === "terms" ? `${q.terms.length} weighted terms`
    : `${q.kind === "image" ? "an" : "a"} ${q.kind} query`;
  const n = answer.hits.length;
  $("meta").textContent = `${n} result${n === 1 ? "" : "s"} for ${what} (${q.domain}) in ${answer.searched_domains.join(", ")}` +
    ` · ${Math.round(answer.seconds * 1000)} ms`;
  // The library's notes name its CLI flag; the page's own control is the "include the query itself" box.
  const notes = answer.notes.map((n) => n.replace(/--keep-query keeps (them|it)/g, KEEP_HINT));
  $("notes").replaceChildren(...notes.map((n) => { const li = document.createElement("li"); li.textContent = n; return li; }));
  const unknown = $("unknown");
  if (q.modify !== null && q.modify !== undefined && q.kind !== "text") {
    unknown.hidden = !answer.unknown_words.length;
    unknown.textContent = answer.unknown_words.length
      ? `unknown to the model, ignored: ${answer.unknown_words.join(", ")}` : "";
  }
}

function searchedCollections() {
  return state.groups[$("where").value] || [];
}

function commonFields(form) {
  form.append("k", $("k").value);
  for (const d of searchedCollections()) form.append("in_domain", d);
  if ($("keep-query").checked) form.append("keep_query", "true");
  for (const c of Terms.conditions()) form.append("filter", c);
}

async function run(request, base = null) {
  // The answer belongs to the panel that asked, even when another one is shown by the time it comes. A plain
  // search (``base``: its query as a term) ends the panel's terms bar; a terms search (no base) keeps it.
  const panel = state.panel;
  if (base) { state.base[panel] = base; delete state.terms[panel]; }
  showError("");
  busy(true);
  try {
    const response = await request();
    state.answers[panel] = await response.json();
  } catch (err) {
    delete state.answers[panel]; // no stale results under a query that failed
    if (state.panel === panel) showError(err.message);
  } finally {
    busy(false);
    if (state.panel === panel) showAnswer(state.answers[panel]);
  }
}

// ---- image panel (upload, drop, gallery pick; optional modification) ------------------------------------------
function setQuery(query) {
  state.query = query;
  const img = $("query-preview");
  const caption = $("query-caption");
  if (query.file) {
    img.src = URL.createObjectURL(query.file);
    img.onerror = () => { img.hidden = true; $("drop").classList.remove("has-image"); }; // not a picture: no broken icon
    img.hidden = false;
  } else if (query.item.thumbnail) {
    setImage(img, query.item.thumbnail);
    img.hidden = false;
    caption.textContent = `item #${query.item.id} · ${query.item.domain}${query.item.label ? ` · ${query.item.label}` : ""}`;
  } else {
    img.hidden = true;
    caption.textContent = `item #${query.item.id}: “${query.item.caption}”`;
  }
  if (!query.file) img.onerror = null;
  if (query.file) caption.textContent = query.file.name;
  img.onload = () => img.classList.toggle("pixelated", img.naturalWidth < 100);
  $("drop").classList.add("has-image");
  $("drop").dataset.query = query.file ? "file" : `item-${query.item.id}`;
}

function searchImage() {
  if (!state.query) { showError("choose a picture first: drop one, choose a file or pick one from the gallery"); return; }
  const form = new FormData();
  if (state.query.file) form.append("image", state.query.file, state.query.file.name);
  else form.append("item_id", String(state.query.item.id));
  const modify = $("modify-field").hidden || !$("modify").value.trim() ? "" : $("modify").value;
  if (modify) form.append("modify", modify);
  commonFields(form);
  return run(() => api("/api/search", { method: "POST", body: form }), Terms.base(state.query, modify));
}

function searchFromItem(item) {
  if (hasPanel("image")) selectPanel("image");
  setQuery({ item });
  $("modify").value = "";
  $("unknown").hidden = true;
  window.scrollTo({ top: 0, behavior: "smooth" });
  return searchImage();
}

function setupImagePanel() {
  const drop = $("drop");
  $("image-file").addEventListener("change", (e) => {
    const file = e.target.files[0];
    if (file) { setQuery({ file }); searchImage(); }
  });
  drop.addEventListener("dragover", (e) => { e.preventDefault(); drop.classList.add("over"); });
  drop.addEventListener("dragleave", () => drop.classList.remove("over"));
  drop.addEventListener("drop", (e) => {
    e.preventDefault();
    drop.classList.remove("over");
    const file = e.dataTransfer.files[0];
    if (file) { setQuery({ file }); searchImage(); }
  });
  drop.addEventListener("keydown", (e) => { if (e.key === "Enter" || e.key === " ") $("image-file").click(); });
  $("image-search").addEventListener("click", searchImage);
  $("modify").addEventListener("keydown", (e) => { if (e.key === "Enter") searchImage(); });
  $("pick").addEventListener("click", openGallery);
}

// ---- gallery (pick an indexed picture as the query) -------------------------------------------------------------
async function loadGallery(reset) {
  if (reset) { state.galleryOffset = 0; $("gallery-items").replaceChildren(); }
  const params = new URLSearchParams({ offset: String(state.galleryOffset), limit: "48" });
  if ($("gallery-domain").value) params.set("domain", $("gallery-domain").value);
  try {
    const page = await (await api(`/api/items?${params}`)).json();
    const pick = (item) => { $("gallery").close(); setQuery({ item }); searchImage(); };
    $("gallery-items").append(...page.items.map((it) => itemCard(it, { onPick: pick })));
    state.galleryOffset += page.items.length;
    $("gallery-more").hidden = state.galleryOffset >= page.total;
  } catch (err) {
    $("gallery").close();
    showError(err.message);
  }
}

function openGallery() {
  $("gallery").showModal();
  loadGallery(true);
}

// ---- text panel ---------------------------------------------------------------------------------------------------
function searchText() {
  const text = $("text").value;
  if (!text.trim()) { showError("type what to look for first"); return; }
  const body = { text, k: Number($("k").value) };
  const where = searchedCollections();
  if (where.length) body.in_domains = where;
  if ($("keep-query").checked) body.keep_query = true;
  const filter = Terms.conditions();
  if (filter.length) body.filter = filter;
  return run(() => api("/api/search/text", {
    method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body),
  }), { kind: "text", text, label: `“${text}”` });
}

function setupTextPanel() {
  $("text-search").addEventListener("click", searchText);
  $("text").addEventListener("keydown", (e) => { if (e.key === "Enter") searchText(); });
}

// ---- panels -------------------------------------------------------------------------------------------------------------
const PANELS = {
  image: setupImagePanel,
  sketch: setupSketchPanel,
  text: setupTextPanel,
  translate: setupTranslatePanel,
};

function hasPanel(name) {
  return Boolean(state.info && state.info.panels.some((p) => p.name === name && p.available));
}

function selectPanel(name) {
  state.panel = name;
  document.querySelectorAll("[data-panel]").forEach((s) => { s.hidden = s.dataset.panel !== name; });
  document.querySelectorAll("#tabs button").forEach((b) => b.setAttribute("aria-selected", String(b.dataset.tab === name)));
  $("options").hidden = name === "translate";
  const where = $("where");
  where.value = state.where[name] ?? defaultWhere(name);
  showError("");
  showAnswer(state.answers[name]);
}

function defaultWhere(panel) {
  const names = Describe.defaultCollections(state.info, panel);
  return Object.keys(state.groups).find((v) => state.groups[v].join("\n") === names.join("\n")) ?? "";
}

function layout(info) {
  state.info = info;
  document.querySelector(".tagline").textContent = Describe.tagline(info);
  $("run").replaceChildren(...Describe.chips(info).map((c) => {
    const chip = document.createElement("span");
    chip.className = `chip ${c.cls}`.trim();
    chip.textContent = c.text;
    chip.title = c.title;
    return chip;
  }));
  $("version").textContent = `semspace ${info.version}`;
  const tabs = $("tabs");
  tabs.replaceChildren();
  const available = info.panels.filter((p) => p.available);
  for (const p of available) {
    const b = document.createElement("button");
    b.type = "button";
    b.role = "tab";
    b.dataset.tab = p.name;
    b.textContent = p.title;
    b.addEventListener("click", () => selectPanel(p.name));
    tabs.appendChild(b);
    if (!PANELS[p.name].done) { PANELS[p.name](); PANELS[p.name].done = true; }
  }
  tabs.hidden = available.length < 2;
  const off = Describe.unavailable(info);
  $("unavailable").textContent = off.text;
  $("unavailable").title = off.title;
  $("unavailable").hidden = !off.text;
  $("modify-field").hidden = !info.modify_domains.length;
  setPlaceholders(info);
  const k = $("k");
  k.replaceChildren();
  for (const n of [...new Set([5, 10, 20, 50, info.limits.default_k])].filter((n) => n <= info.limits.max_k).sort((a, b) => a - b)) {
    const o = new Option(String(n), String(n), n === info.limits.default_k, n === info.limits.default_k);
    k.appendChild(o);
  }
  const where = $("where");
  const gallery = $("gallery-domain");
  where.replaceChildren(new Option("everything", ""));
  gallery.replaceChildren(new Option("every collection", ""));
  state.groups = { "": [] };
  for (const panel of ["text", "sketch"]) { // a group of collections some panel searches by default
    const names = Describe.defaultCollections(info, panel);
    const value = `group:${names.join("\n")}`;
    if (names.length > 1 && !state.groups[value]) {
      state.groups[value] = names;
      where.appendChild(new Option(Describe.groupName(info, names), value));
    }
  }
  for (const d of Describe.collections(info).map((c) => c.name)) {
    state.groups[d] = [d];
    where.appendChild(new Option(d, d));
    gallery.appendChild(new Option(d, d));
  }
  const preferred = Object.keys(info.index.domains).find((d) => info.domains.some((x) => x.name === d && x.kind === "image"));
  if (preferred) gallery.value = preferred;
  if (available.length) selectPanel(available[0].name);
  else showError("this run supports none of the page's panels; the API is still at /api/");
}

function setPlaceholders(info) {
  const set = (sample) => {
    const p = Describe.placeholders(info, sample);
    $("text").placeholder = p.text;
    $("modify").placeholder = p.modify;
  };
  set("");
  const texts = Describe.textCollection(info);
  if (!texts || !hasPanel("text")) return;
  const params = new URLSearchParams({ domain: texts, limit: "1" });
  api(`/api/items?${params}`).then((r) => r.json())
    .then((page) => { if (page.items.length && page.items[0].caption) set(page.items[0].caption); })
    .catch(() => { /* keep the plain placeholder */ });
}

function init() {
  $("gallery-close").addEventListener("click", () => $("gallery").close());
  $("gallery-more").addEventListener("click", () => loadGallery(false));
  $("gallery-domain").addEventListener("change", () => loadGallery(true));
  $("where").addEventListener("change", () => { state.where[state.panel] = $("where").value; });
  Terms.setup();
  $("token-form").addEventListener("submit", (e) => {
    e.preventDefault();
    state.token = $("token").value.trim();
    sessionStorage.setItem("semspace-token", state.token);
    $("token-form").hidden = true;
    load();
  });
  load();
}

async function load() {
  try {
    layout(await (await api("/api/info")).json());
    document.body.classList.add("ready");
  } catch (err) {
    $("run").replaceChildren();
    showError(err.message);
  }
}

document.addEventListener("DOMContentLoaded", init);
