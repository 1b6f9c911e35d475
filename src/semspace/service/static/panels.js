// semspace page: the sketch and translate panels (app.js has the API helpers, results and the other panels;
// both are plain scripts sharing one scope: this one loads first, its setup functions run once app.js lays
// the page out).
"use strict";

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
    return run(() => api("/api/search/sketch", { method: "POST", body: form }), { kind: "sketch", blob, label: "the drawing" });
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
