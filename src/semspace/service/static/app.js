// semspace page: plain JavaScript, no build step. It asks /api/info what the loaded run can do and shows only
// those panels; every search answers a list of hits drawn as a grid; clicking a hit makes it the next query.
// A new panel is one <section data-panel="NAME"> in index.html, one PANELS entry below and one row in panels.py.
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
};

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
  if (response.status === 401) $("token-form").hidden = false;
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
function itemCard(item, { onPick, score, rank } = {}) {
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
  return li;
}

function showAnswer(answer) {
  const grid = $("results");
  grid.replaceChildren(...answer.hits.map((h) => itemCard(h, { score: h.score, rank: h.rank, onPick: searchFromItem })));
  $("empty").hidden = answer.hits.length > 0;
  if (!answer.hits.length) $("empty").querySelector("p").textContent = "No results.";
  const q = answer.query;
  const what = q.kind === "item" ? `item #${q.item.id}` : `${q.kind === "image" ? "an" : "a"} ${q.kind} query`;
  const n = answer.hits.length;
  $("meta").textContent = `${n} result${n === 1 ? "" : "s"} for ${what} (${q.domain}) in ${answer.searched_domains.join(", ")}` +
    ` · ${Math.round(answer.seconds * 1000)} ms`;
  $("notes").replaceChildren(...answer.notes.map((n) => { const li = document.createElement("li"); li.textContent = n; return li; }));
  const unknown = $("unknown");
  if (q.modify !== null && q.modify !== undefined && q.kind !== "text") {
    unknown.hidden = !answer.unknown_words.length;
    unknown.textContent = answer.unknown_words.length
      ? `unknown to the model, ignored: ${answer.unknown_words.join(", ")}` : "";
  }
}

function commonFields(form) {
  form.append("k", $("k").value);
  if ($("where").value) form.append("in_domain", $("where").value);
}

async function run(request) {
  showError("");
  busy(true);
  try {
    const response = await request();
    showAnswer(await response.json());
  } catch (err) {
    showError(err.message);
  } finally {
    busy(false);
  }
}

// ---- image panel (upload, drop, gallery pick; optional modification) ------------------------------------------
function setQuery(query) {
  state.query = query;
  const img = $("query-preview");
  const caption = $("query-caption");
  if (query.file) {
    img.src = URL.createObjectURL(query.file);
    caption.textContent = query.file.name;
    img.hidden = false;
  } else if (query.item.thumbnail) {
    setImage(img, query.item.thumbnail);
    img.hidden = false;
    caption.textContent = `item #${query.item.id} · ${query.item.domain}${query.item.label ? ` · ${query.item.label}` : ""}`;
  } else {
    img.hidden = true;
    caption.textContent = `item #${query.item.id}: “${query.item.caption}”`;
  }
  img.onload = () => img.classList.toggle("pixelated", img.naturalWidth < 100);
  $("drop").classList.add("has-image");
  $("drop").dataset.query = query.file ? "file" : `item-${query.item.id}`;
}

function searchImage() {
  if (!state.query) { showError("choose a picture first: drop one, choose a file or pick one from the gallery"); return; }
  const form = new FormData();
  if (state.query.file) form.append("image", state.query.file, state.query.file.name);
  else form.append("item_id", String(state.query.item.id));
  const modify = $("modify").value;
  if (!$("modify-field").hidden && modify.trim()) form.append("modify", modify);
  commonFields(form);
  return run(() => api("/api/search", { method: "POST", body: form }));
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

// ---- sketch panel (pointer events: mouse, pen and touch; undo; clear) ----------------------------------------------
const sketch = { strokes: [], current: null, timer: 0 };

function redraw() {
  const canvas = $("sketch");
  const ctx = canvas.getContext("2d");
  ctx.fillStyle = "#fff";
  ctx.fillRect(0, 0, canvas.width, canvas.height);
  ctx.strokeStyle = "#111";
  ctx.lineWidth = 5;
  ctx.lineCap = "round";
  ctx.lineJoin = "round";
  for (const stroke of sketch.strokes) {
    ctx.beginPath();
    stroke.forEach(([x, y], i) => (i ? ctx.lineTo(x, y) : ctx.moveTo(x, y)));
    if (stroke.length === 1) ctx.lineTo(stroke[0][0] + 0.1, stroke[0][1]);
    ctx.stroke();
  }
}

function canvasPoint(e) {
  const canvas = $("sketch");
  const r = canvas.getBoundingClientRect();
  return [((e.clientX - r.left) / r.width) * canvas.width, ((e.clientY - r.top) / r.height) * canvas.height];
}

function searchSketch() {
  if (!sketch.strokes.length) { showError("draw something first"); return; }
  return new Promise((resolve) => $("sketch").toBlob(resolve, "image/png")).then((blob) => {
    const form = new FormData();
    form.append("sketch", blob, "sketch.png");
    commonFields(form);
    return run(() => api("/api/search/sketch", { method: "POST", body: form }));
  });
}

function setupSketchPanel() {
  const canvas = $("sketch");
  redraw();
  canvas.addEventListener("pointerdown", (e) => {
    e.preventDefault();
    canvas.setPointerCapture(e.pointerId);
    sketch.current = [canvasPoint(e)];
    sketch.strokes.push(sketch.current);
    redraw();
  });
  canvas.addEventListener("pointermove", (e) => {
    if (!sketch.current) return;
    sketch.current.push(canvasPoint(e));
    redraw();
  });
  const end = () => {
    if (!sketch.current) return;
    sketch.current = null;
    if ($("sketch-live").checked) {
      clearTimeout(sketch.timer);
      sketch.timer = setTimeout(searchSketch, 250);
    }
  };
  canvas.addEventListener("pointerup", end);
  canvas.addEventListener("pointercancel", end);
  $("sketch-undo").addEventListener("click", () => { sketch.strokes.pop(); redraw(); });
  $("sketch-clear").addEventListener("click", () => { sketch.strokes = []; redraw(); });
  $("sketch-search").addEventListener("click", searchSketch);
}

// ---- text panel ---------------------------------------------------------------------------------------------------
function searchText() {
  const text = $("text").value;
  if (!text.trim()) { showError("type what to look for first"); return; }
  const body = { text, k: Number($("k").value) };
  if ($("where").value) body.in_domains = [$("where").value];
  return run(() => api("/api/search/text", {
    method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body),
  }));
}

function setupTextPanel() {
  $("text-search").addEventListener("click", searchText);
  $("text").addEventListener("keydown", (e) => { if (e.key === "Enter") searchText(); });
}

// ---- translate panel ------------------------------------------------------------------------------------------------
function setupTranslatePanel() {
  for (const which of ["content", "exemplar"]) {
    $(`${which}-file`).addEventListener("change", (e) => {
      const f = e.target.files[0];
      const img = $(`${which}-preview`);
      img.hidden = !f;
      if (f) img.src = URL.createObjectURL(f);
    });
  }
  $("translate-run").addEventListener("click", async () => {
    const content = $("content-file").files[0];
    const exemplar = $("exemplar-file").files[0];
    if (!content || !exemplar) { showError("choose a content picture and an exemplar"); return; }
    const form = new FormData();
    form.append("content", content, content.name);
    form.append("exemplar", exemplar, exemplar.name);
    form.append("direction", $("direction").value);
    showError("");
    busy(true);
    try {
      const blob = await (await api("/api/translate", { method: "POST", body: form })).blob();
      $("translation-image").src = URL.createObjectURL(blob);
      $("translation").hidden = false;
    } catch (err) {
      showError(err.message);
    } finally {
      busy(false);
    }
  });
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
  showError("");
}

function layout(info) {
  state.info = info;
  const chips = [
    `<span class="chip strong">${escapeHtml(info.task)}</span>`,
    `<span class="chip">${info.index.items} items</span>`,
    ...info.domains.map((d) => `<span class="chip muted" title="${escapeHtml(d.kind)}">${escapeHtml(d.name)} · ${d.kind}</span>`),
    ...info.capabilities.map((c) => `<span class="chip accent">${escapeHtml(c)}</span>`),
  ];
  $("run").innerHTML = chips.join("");
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
  const off = info.panels.filter((p) => !p.available).map((p) => `${p.title}: ${p.why}`);
  $("unavailable").textContent = off.length ? `Not in this run: ${off.join(" · ")}` : "";
  $("unavailable").hidden = !off.length;
  $("modify-field").hidden = !info.modify_domains.length;
  const k = $("k");
  k.replaceChildren();
  for (const n of [...new Set([5, 10, 20, 50, info.limits.default_k])].filter((n) => n <= info.limits.max_k).sort((a, b) => a - b)) {
    const o = new Option(String(n), String(n), n === info.limits.default_k, n === info.limits.default_k);
    k.appendChild(o);
  }
  const where = $("where");
  const gallery = $("gallery-domain");
  gallery.replaceChildren(new Option("every collection", ""));
  for (const d of Object.keys(info.index.domains)) {
    where.appendChild(new Option(d, d));
    gallery.appendChild(new Option(d, d));
  }
  const preferred = Object.keys(info.index.domains).find((d) => info.domains.some((x) => x.name === d && x.kind === "image"));
  if (preferred) gallery.value = preferred;
  if (available.length) selectPanel(available[0].name);
  else showError("this run supports none of the page's panels; the API is still at /api/");
}

function escapeHtml(s) {
  return String(s).replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]);
}

function init() {
  $("gallery-close").addEventListener("click", () => $("gallery").close());
  $("gallery-more").addEventListener("click", () => loadGallery(false));
  $("gallery-domain").addEventListener("change", () => loadGallery(true));
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
    $("run").innerHTML = "";
    showError(err.status === 401 ? "this service needs an API token: type it above" : err.message);
  }
}

document.addEventListener("DOMContentLoaded", init);
