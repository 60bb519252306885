// neuronlab playground: the page only draws. Every number comes from the server, which runs
// neuronlab's own training loop; nothing here computes a loss, a gradient or an update.
"use strict";

const $ = (sel, root = document) => root.querySelector(sel);
const $$ = (sel, root = document) => Array.from(root.querySelectorAll(sel));
const token = new URLSearchParams(location.search).get("token") || "";

const DEFAULTS = {
  section: "neuron", dataset: "linear", activation: "sigmoid", loss: "log_loss", lr: "0.5",
  strategy: "gradient_descent", batch: "all", alpha: "0", seed: "0", speed: "200",
  eq: "256x + 212y = 1492", budget: "2000", rseed: "0",
  hidden: "4", acts: "tanh", // the network: units per hidden layer, each layer's f (comma-separated)
};
const NETWORK_LIMITS = { layers: 6, units: 32 }; // the server checks these too (and the parameter count)
const state = Object.assign({}, DEFAULTS, readHash());
let options = null;
let ws = null;
let playing = false;
let upload = null; // {upload, columns, numeric, name}
let view = {}; // what the current section draws

function readHash() {
  const out = {};
  new URLSearchParams(location.hash.replace(/^#/, "")).forEach((v, k) => { if (k in DEFAULTS) out[k] = v; });
  return out;
}

function writeHash() {
  const params = new URLSearchParams();
  for (const k of Object.keys(DEFAULTS)) if (state[k] !== undefined) params.set(k, state[k]);
  history.replaceState(null, "", location.pathname + location.search + "#" + params.toString());
}

function showError(message) {
  const box = $("#error");
  box.textContent = message;
  box.hidden = false;
  clearTimeout(showError.timer);
  showError.timer = setTimeout(() => { box.hidden = true; }, 9000);
}

function send(message) {
  if (ws && ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify(message));
}

function fmt(x, digits = 6) {
  if (x === null || x === undefined) return "—";
  if (!isFinite(x)) return String(x);
  return Number(x).toPrecision(digits);
}

// the server's pictures come as 16-bit integers in base64 (little-endian; see sessions.py)
const PROBABILITY_STEPS = 65534, PROBABILITY_MISSING = 65535, UNIT_MISSING = -32768;

function words(b64) {
  const text = atob(b64), bytes = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i++) bytes[i] = text.charCodeAt(i);
  return new DataView(bytes.buffer);
}

// ŷ over the plane: one number per cell, NaN where the server had none
function decodeProbabilities(b64) {
  const data = words(b64), out = new Float32Array(data.byteLength / 2);
  for (let i = 0; i < out.length; i++) {
    const q = data.getUint16(2 * i, true);
    out[i] = q === PROBABILITY_MISSING ? NaN : q / PROBABILITY_STEPS;
  }
  return out;
}

// a layer's units: one array per unit of a/max|a| (−1 … 1), NaN where the server had none
function decodeUnits(layer) {
  const data = words(layer.values), n = layer.scales.length, cells = data.byteLength / 2 / n;
  return layer.scales.map((_, j) => {
    const out = new Float32Array(cells);
    for (let i = 0; i < cells; i++) {
      const q = data.getInt16(2 * (j * cells + i), true);
      out[i] = q === UNIT_MISSING ? NaN : q / 32767;
    }
    return out;
  });
}

function setNumber(el, x) {
  el.textContent = fmt(x);
  el.dataset.value = x === null || x === undefined ? "" : String(x);
}

// --- sections ------------------------------------------------------------------------------
function activeSection() { return state.section; }

// the Networks tab shows the neuron section's page with the layer controls and pictures
function sectionElement(name = activeSection()) { return $("#section-" + (name === "network" ? "neuron" : name)); }

function isNetwork() { return state.section === "network"; }

function showSection(name) {
  state.section = name;
  writeHash();
  for (const b of $$("#tabs button")) b.classList.toggle("active", b.dataset.section === name);
  for (const s of $$(".section")) s.hidden = s !== sectionElement(name);
  const network = name === "network";
  $("#neuron-title").textContent = network ? "Networks" : "A neuron learns";
  $("#network-intro").hidden = $("#network-controls").hidden = !network;
  $("#network-pictures").hidden = true; // shown once the network's first frame arrives
  $("#activation-control").hidden = $("#loss-control").hidden = network;
  if (network) drawLayerControls();
  openSection();
}

// --- the network's layers: sizes and activations in the URL ("4,4" and "tanh,relu") ------------
function layerSizes() { return state.hidden.split(",").filter((v) => v !== "").map(Number); }
function layerActivations() {
  const acts = state.acts.split(","), n = layerSizes().length;
  return Array.from({ length: n }, (_, i) => acts[i] || acts[acts.length - 1] || "tanh");
}

function setLayers(sizes, acts) {
  state.hidden = sizes.join(","); state.acts = acts.join(","); writeHash();
  drawLayerControls();
}

function drawLayerControls() {
  const box = $("#layers");
  box.textContent = "";
  const sizes = layerSizes(), acts = layerActivations();
  sizes.forEach((n, i) => {
    const layer = document.createElement("span");
    layer.className = "layer"; layer.dataset.layer = String(i + 1);
    const title = document.createElement("span"); title.textContent = `layer ${i + 1}:`;
    const fewer = document.createElement("button"); fewer.textContent = "−"; fewer.className = "fewer";
    fewer.title = "one unit fewer";
    const count = document.createElement("b"); count.textContent = String(n); count.className = "units-count";
    const more = document.createElement("button"); more.textContent = "+"; more.className = "more";
    more.title = "one unit more";
    const select = document.createElement("select"); select.className = "layer-activation";
    fillSelect(select, options.activations.filter((a) => a !== "step"), acts[i]);
    const remove = document.createElement("button"); remove.textContent = "×"; remove.className = "remove";
    remove.title = "remove this layer";
    fewer.disabled = n <= 1; more.disabled = n >= NETWORK_LIMITS.units; remove.disabled = sizes.length <= 1;
    fewer.addEventListener("click", () => { sizes[i] = n - 1; setLayers(sizes, acts); openSection(); });
    more.addEventListener("click", () => { sizes[i] = n + 1; setLayers(sizes, acts); openSection(); });
    remove.addEventListener("click", () => { sizes.splice(i, 1); acts.splice(i, 1); setLayers(sizes, acts); openSection(); });
    select.addEventListener("change", () => { // takes effect at the next step, from the current weights
      acts[i] = select.value; setLayers(sizes, acts);
      send({ type: "set", settings: { activation: acts } });
    });
    layer.append(title, fewer, count, more, select, remove);
    box.appendChild(layer);
  });
  $("#add-layer").disabled = sizes.length >= NETWORK_LIMITS.layers;
}

function neuronConfig() {
  const config = {
    activation: state.activation, loss: state.loss, learning_rate: Number(state.lr),
    strategy: state.strategy, alpha: Number(state.alpha), seed: Number(state.seed),
    batch_size: state.batch === "all" ? null : Number(state.batch),
  };
  if (isNetwork()) Object.assign(config, { hidden: layerSizes(), activation: layerActivations(), loss: "log_loss" });
  if (state.dataset === "csv" && upload && upload.chosen) {
    Object.assign(config, { upload: upload.upload, features: upload.chosen.features, target: upload.chosen.target });
  } else {
    config.dataset = state.dataset === "csv" ? "linear" : state.dataset;
  }
  return config;
}

function openSection() {
  playing = false;
  updatePlayButtons();
  view = {};
  for (const pre of $$(".explain-text")) pre.hidden = true;
  const name = activeSection();
  if (name === "neuron" || name === "network") {
    $("#neuron-message").hidden = true;
    send({ type: "open", section: name, config: neuronConfig() });
  } else if (name === "race") {
    const config = { equation: state.eq, budget: Number(state.budget), seed: Number(state.rseed) };
    send({ type: "open", section: "race", config });
  } else if (name === "rates") {
    send({ type: "open", section: "rates", config: {} });
  }
  send({ type: "speed", steps_per_second: Number(state.speed) });
}

function updatePlayButtons() {
  for (const b of $$(".play")) b.textContent = playing ? "pause" : "play";
}

// --- messages from the server --------------------------------------------------------------
function onMessage(event) {
  const m = JSON.parse(event.data);
  if (m.type === "error") { showError(m.message); return; }
  if (m.type === "closed") { $("#connection").textContent = m.message; playing = false; updatePlayButtons(); return; }
  if (m.type === "paused") { playing = false; updatePlayButtons(); return; }
  if (m.type === "playing") { playing = true; updatePlayButtons(); return; }
  if (m.type === "export") { download(m.filename, m.text); return; }
  if (m.type === "explain") { showExplain(m); return; }
  const section = m.section || view.section;
  if (m.type === "ready") view = { section: m.section };
  if (view.section === "neuron" || view.section === "network") neuronMessage(m);
  else if (view.section === "race") raceMessage(m);
  else if (view.section === "rates") ratesMessage(m);
  if (m.type === "ended") { playing = false; updatePlayButtons(); }
  void section;
}

function showExplain(m) {
  const pre = $(".explain-text", sectionElement());
  pre.textContent = m.lines.join("\n");
  pre.hidden = false;
}

function download(filename, text) {
  const url = URL.createObjectURL(new Blob([text], { type: "application/json" }));
  const a = document.createElement("a");
  a.href = url; a.download = filename; document.body.appendChild(a); a.click(); a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}

// --- a neuron learns -----------------------------------------------------------------------
function neuronMessage(m) {
  if (m.type === "ready") {
    Object.assign(view, { info: m, t: [], loss: [], val: [], grid: null, gridClass: null, units: null, layers: null });
    const colours = m.n_classes > 2
      ? "colour: the class ŷ picks (softmax), paler where it is less sure — " +
        m.labels.map((label, k) => `${label} (${CLASS_NAMES[k % CLASS_NAMES.length]})`).join(", ")
      : `colour: ŷ from ${m.labels[0]} (blue) to ${m.labels[1]} (orange)`;
    $("#boundary-note").textContent = `${m.features[0]} → across, ${m.features[1]} → up; ` +
      `${m.row_counts.train} training rows (filled), ${m.row_counts.validation} validation rows (hollow); ${colours}.`;
    $("#neuron-message").hidden = true;
    if (m.sizes) {
      const k = m.sizes[m.sizes.length - 1];
      $("#output-layer").textContent = k > 1 ? `output: ${k} units, softmax` : "output: 1 unit, sigmoid";
      buildUnitCanvases(m.sizes.slice(1, -1));
    }
    $("#network-pictures").hidden = !m.sizes;
  }
  if (m.type === "ready" || m.type === "frame") {
    for (const r of m.rows) { view.t.push(r.t); view.loss.push(r.loss); view.val.push(r.val_loss); }
    if (m.grid) { view.grid = decodeProbabilities(m.grid); view.gridClass = m.grid_class || null; }
    if (m.units) { view.units = m.units.map(decodeUnits); view.layers = m.layers; }
    $("#step-count").textContent = m.step;
    const last = m.rows.length ? m.rows[m.rows.length - 1] : null;
    if (last) { setNumber($("#loss"), last.loss); setNumber($("#val-loss"), last.val_loss); }
    const weights = Object.entries(m.theta);
    const shown = weights.length > 12 ? 4 : 12; // a network's weights: a few, and the drawing below
    $("#weights").textContent = weights.slice(0, shown).map(([k, v]) => `${k} = ${fmt(v, 4)}`).join(", ") +
      (weights.length > shown ? ` … (${weights.length} in all)` : "");
    showEta(m.learning_rate, m.stability_limit);
    scheduleDraw();
  } else if (m.type === "changed") {
    showEta(m.learning_rate, m.stability_limit);
  } else if (m.type === "ended") {
    const box = $("#neuron-message");
    box.hidden = false;
    box.classList.toggle("diverged", m.status === "diverged");
    $(".text", box).textContent = `${m.status}: ${m.message}`;
    const use = $("#use-suggestion");
    use.hidden = !m.suggested_learning_rate;
    use.dataset.value = m.suggested_learning_rate || "";
    if (m.suggested_learning_rate) use.textContent = `use the suggested η = ${fmt(m.suggested_learning_rate, 3)}`;
  }
}

function showEta(eta, limit) {
  const el = $("#eta-limit");
  if (eta === null || eta === undefined) { el.textContent = "this strategy has no learning rate"; return; }
  el.textContent = limit ? `η = ${fmt(eta, 3)} against the stability limit 2/λ_max = ${fmt(limit, 3)}` +
    (eta >= limit ? " — past it: expect divergence" : "") : `η = ${fmt(eta, 3)}`;
}

let drawPending = false;
function scheduleDraw() {
  if (drawPending) return;
  drawPending = true;
  requestAnimationFrame(() => {
    drawPending = false;
    if (view.section === "neuron" || view.section === "network") {
      drawBoundary();
      drawCurves($("#loss-chart"), [
        { xs: view.t, ys: view.loss, color: "#2f6fdf", label: "training J" },
        { xs: view.t, ys: view.val, color: "#e07b00", label: "validation" }]);
      if (view.units) { drawUnits(); drawNetwork(); }
    }
    else if (view.section === "race") drawRace();
    else if (view.section === "rates") drawRates();
  });
}

// ŷ's colour from blue (0) to orange (1), looked up in 256 steps (a 64 × 64 map is 4096 cells a frame)
const COLOURS = Array.from({ length: 256 }, (_, k) => {
  const q = k / 255, blue = [90, 140, 230], orange = [245, 160, 60];
  return blue.map((b, i) => Math.round(255 + (b - 255) * (1 - q) * 0.7 + (orange[i] - 255) * q * 0.7));
});
function colourOf(p) { return COLOURS[Math.round(255 * Math.min(1, Math.max(0, p)))]; }

// one offscreen canvas per size, made once: a picture's cells are put there, then scaled up
const scratch = {};
function scratchCanvas(n) {
  if (!scratch[n]) { scratch[n] = document.createElement("canvas"); scratch[n].width = scratch[n].height = n; }
  return scratch[n];
}

function drawBoundary() {
  const canvas = $("#boundary");
  const ctx = canvas.getContext("2d");
  const info = view.info;
  if (!info) return;
  const G = info.grid_size, W = canvas.width, H = canvas.height;
  const [x0, y0] = info.bounds.low, [x1, y1] = info.bounds.high;
  ctx.clearRect(0, 0, W, H);
  if (view.grid) {
    const off = scratchCanvas(G);
    const octx = off.getContext("2d");
    const img = octx.createImageData(G, G);
    for (let r = 0; r < G; r++) for (let c = 0; c < G; c++) {
      const v = view.grid[r * G + c];
      const [R, Gr, B] = Number.isNaN(v) ? [200, 0, 0]
        : view.gridClass ? classColour(view.gridClass[r * G + c], v, info.n_classes) : colourOf(v);
      const k = ((G - 1 - r) * G + c) * 4;
      img.data[k] = R; img.data[k + 1] = Gr; img.data[k + 2] = B; img.data[k + 3] = 255;
    }
    octx.putImageData(img, 0, 0);
    ctx.imageSmoothingEnabled = true;
    ctx.drawImage(off, 0, 0, W, H);
  }
  const px = (x) => (x - x0) / (x1 - x0) * W, py = (y) => H - (y - y0) / (y1 - y0) * H;
  if (view.gridClass) { // k classes: the boundary is where the class ŷ picks changes from cell to cell
    ctx.fillStyle = "#222";
    const cx = (c) => (c + 0.5) / G * W, cy = (r) => H - (r + 0.5) / G * H;
    for (let r = 0; r < G; r++) for (let c = 0; c < G; c++) {
      const k = view.gridClass[r * G + c];
      if (c + 1 < G && view.gridClass[r * G + c + 1] !== k) ctx.fillRect(cx(c + 0.5) - 1, cy(r) - 1, 2.2, 2.2);
      if (r + 1 < G && view.gridClass[(r + 1) * G + c] !== k) ctx.fillRect(cx(c) - 1, cy(r + 0.5) - 1, 2.2, 2.2);
    }
  } else if (view.grid) { // the line ŷ = ½ where the server's grid of ŷ crosses it (drawn, not computed)
    ctx.fillStyle = "#222";
    const cx = (c) => c / (G - 1) * W, cy = (r) => H - r / (G - 1) * H;
    for (let r = 0; r < G; r++) for (let c = 0; c < G; c++) {
      const v = view.grid[r * G + c];
      if (Number.isNaN(v)) continue;
      for (const [dr, dc] of [[0, 1], [1, 0]]) {
        if (r + dr >= G || c + dc >= G) continue;
        const u = view.grid[(r + dr) * G + c + dc];
        if (Number.isNaN(u) || (v - 0.5) * (u - 0.5) > 0 || u === v) continue;
        const f = (0.5 - v) / (u - v);
        ctx.fillRect(cx(c + dc * f) - 1, cy(r + dr * f) - 1, 2.2, 2.2);
      }
    }
  }
  view.pointsImage = view.pointsImage || pointsImage(info, W, H, px, py); // the data do not move
  ctx.drawImage(view.pointsImage, 0, 0);
}

// the data's points on a transparent canvas of their own, drawn once per run
function pointsImage(info, W, H, px, py) {
  const canvas = document.createElement("canvas");
  canvas.width = W; canvas.height = H;
  const ctx = canvas.getContext("2d");
  const p = info.points;
  for (let i = 0; i < p.x.length; i++) {
    ctx.beginPath();
    ctx.arc(px(p.x[i]), py(p.y[i]), 3.2, 0, 2 * Math.PI);
    const colour = info.n_classes > 2 ? CLASS_INK[p.label[i] % CLASS_INK.length] : p.label[i] ? "#c45f00" : "#1d4fb8";
    if (p.train[i]) { ctx.fillStyle = colour; ctx.fill(); }
    ctx.strokeStyle = colour; ctx.lineWidth = 1.2; ctx.stroke();
  }
  return canvas;
}

// k classes: one colour per class, paler where softmax's largest ŷ is small (1/k … 1)
const CLASS_NAMES = ["blue", "orange", "green", "purple", "red", "brown", "pink", "grey", "olive", "teal"];
const CLASS_FILL = [[90, 140, 230], [245, 160, 60], [90, 190, 110], [160, 110, 210], [225, 85, 85],
  [170, 120, 80], [235, 130, 190], [150, 150, 150], [180, 180, 70], [70, 180, 190]];
const CLASS_INK = ["#1d4fb8", "#c45f00", "#1f7a3a", "#6b3fa0", "#b3261e", "#7a4e22", "#b0407f", "#555", "#7a7a10", "#137a85"];

function classColour(k, p, nClasses) {
  const sure = Math.min(1, Math.max(0, (p - 1 / nClasses) / (1 - 1 / nClasses)));
  const base = CLASS_FILL[k % CLASS_FILL.length];
  return base.map((b) => Math.round(255 + (b - 255) * (0.25 + 0.5 * sure)));
}

// --- the network: each hidden unit's map, and the drawing of its layers ----------------------
function buildUnitCanvases(hidden) {
  const box = $("#units");
  box.textContent = "";
  hidden.forEach((n, l) => {
    const row = document.createElement("div"); row.className = "unit-row";
    const label = document.createElement("span"); label.textContent = `layer ${l + 1}`;
    row.appendChild(label);
    for (let j = 0; j < n; j++) {
      const c = document.createElement("canvas");
      c.className = "unit"; c.width = c.height = view.info.unit_grid_size;
      c.title = `layer ${l + 1}, unit ${j + 1}: a = f(w·x + b) over the plane (blue +, orange −)`;
      row.appendChild(c);
    }
    box.appendChild(row);
  });
}

function drawUnits() {
  const G = view.info.unit_grid_size;
  const rows = $$("#units .unit-row");
  view.units.forEach((layer, l) => {
    const canvases = rows[l] ? $$("canvas", rows[l]) : [];
    layer.forEach((values, j) => {
      const canvas = canvases[j];
      if (!canvas) return;
      const ctx = canvas.getContext("2d");
      const img = ctx.createImageData(G, G);
      for (let r = 0; r < G; r++) for (let c = 0; c < G; c++) {
        const v = values[r * G + c]; // a/max|a| over the plane
        const q = Number.isNaN(v) ? 0 : v; // −1 … 1: orange … white … blue
        const target = q >= 0 ? [47, 111, 223] : [224, 123, 0];
        const at = ((G - 1 - r) * G + c) * 4;
        for (let i = 0; i < 3; i++) img.data[at + i] = Math.round(255 + (target[i] - 255) * Math.abs(q));
        img.data[at + 3] = 255;
      }
      ctx.putImageData(img, 0, 0);
    });
  });
}

function drawNetwork() {
  const canvas = $("#network-drawing");
  const ctx = canvas.getContext("2d");
  const sizes = view.info.sizes, layers = view.layers;
  const W = canvas.width, H = canvas.height, pad = 28;
  ctx.clearRect(0, 0, W, H);
  const x = (l) => pad + l * (W - 2 * pad) / (sizes.length - 1);
  const y = (l, i) => H / 2 + (i - (sizes[l] - 1) / 2) * Math.min(26, (H - 2 * pad) / Math.max(1, sizes[l] - 1));
  let biggest = 0;
  for (const layer of layers) for (const row of layer.W) for (const w of row) if (w !== null) biggest = Math.max(biggest, Math.abs(w));
  biggest = biggest || 1;
  layers.forEach((layer, l) => { // W of layer l + 1: one row per input unit, one column per unit
    layer.W.forEach((row, i) => row.forEach((w, j) => {
      if (w === null) return;
      ctx.strokeStyle = w >= 0 ? "rgba(47, 111, 223, 0.75)" : "rgba(224, 123, 0, 0.75)";
      ctx.lineWidth = 0.3 + 4.5 * Math.abs(w) / biggest;
      ctx.beginPath(); ctx.moveTo(x(l), y(l, i)); ctx.lineTo(x(l + 1), y(l + 1, j)); ctx.stroke();
    }));
  });
  ctx.font = "11px system-ui"; ctx.textAlign = "center";
  sizes.forEach((n, l) => {
    for (let i = 0; i < n; i++) {
      ctx.beginPath(); ctx.arc(x(l), y(l, i), 7, 0, 2 * Math.PI);
      ctx.fillStyle = "white"; ctx.fill(); ctx.strokeStyle = "#5b6475"; ctx.lineWidth = 1.2; ctx.stroke();
    }
    ctx.fillStyle = "#5b6475";
    const name = l === 0 ? "x" : l === sizes.length - 1 ? "ŷ" : `layer ${l}`;
    ctx.fillText(name, x(l), H - 6);
  });
  ctx.textAlign = "start";
}

function drawCurves(canvas, series, opts = {}) {
  const ctx = canvas.getContext("2d");
  const W = canvas.width, H = canvas.height, L = 52, B = 24, T = 10, R = 10;
  ctx.clearRect(0, 0, W, H);
  let lo = Infinity, hi = -Infinity, xmax = 1;
  for (const s of series) for (let i = 0; i < s.ys.length; i++) {
    const v = s.ys[i];
    if (v === null || !(v > 0)) continue;
    lo = Math.min(lo, Math.log10(v)); hi = Math.max(hi, Math.log10(v));
    xmax = Math.max(xmax, s.xs[i]);
  }
  if (opts.ceiling !== undefined && isFinite(opts.ceiling)) hi = Math.min(hi, opts.ceiling);
  if (!isFinite(lo)) return;
  if (hi - lo < 1e-9) { hi += 0.5; lo -= 0.5; }
  const X = (x) => L + x / xmax * (W - L - R), Y = (v) => T + (hi - v) / (hi - lo) * (H - T - B);
  ctx.strokeStyle = "#d9dde5"; ctx.fillStyle = "#5b6475"; ctx.font = "11px system-ui"; ctx.lineWidth = 1;
  const marks = [];
  for (let e = Math.ceil(lo); e <= Math.floor(hi); e++) marks.push(e);
  if (marks.length < 2) marks.push(lo, hi); // less than a decade: label the ends
  for (const e of marks) {
    ctx.beginPath(); ctx.moveTo(L, Y(e)); ctx.lineTo(W - R, Y(e)); ctx.stroke();
    ctx.fillText(Number.isInteger(e) ? "1e" + e : (10 ** e).toPrecision(3), 4, Y(e) + 4);
  }
  ctx.fillText("step " + xmax, W - R - 60, H - 6);
  ctx.fillText("0", L, H - 6);
  for (const s of series) {
    ctx.strokeStyle = s.color; ctx.lineWidth = 1.6; ctx.beginPath();
    // every point is read, but a pixel column gets at most its lowest, highest and last point:
    // a long run draws as fast as a short one, and no spike is lost
    let column = null, low = 0, high = 0, last = 0;
    const flush = () => { ctx.lineTo(column, low); ctx.lineTo(column, high); ctx.lineTo(column, last); };
    for (let i = 0; i < s.ys.length; i++) {
      const v = s.ys[i];
      if (v === null || !(v > 0)) continue; // not measured at this step (or not finite)
      const y = Y(Math.min(Math.log10(v), hi)), x = Math.round(X(s.xs[i]));
      if (column === null) ctx.moveTo(x, y);
      else if (x === column) { low = Math.min(low, y); high = Math.max(high, y); last = y; continue; }
      else flush();
      column = x; low = high = last = y;
    }
    if (column !== null) flush();
    ctx.stroke();
  }
  let lx = L + 8;
  for (const s of series) {
    if (!s.label) continue;
    ctx.fillStyle = s.color; ctx.fillRect(lx, T + 4, 10, 10);
    ctx.fillStyle = "#1f2430"; ctx.fillText(s.label, lx + 14, T + 13);
    lx += ctx.measureText(s.label).width + 34;
  }
}

// --- the equation race ---------------------------------------------------------------------
const RACE_COLOURS = { "monte-carlo": "#9b30d9", "error-driven": "#e07b00", "gradient": "#2f6fdf" };

function raceMessage(m) {
  if (m.type === "ready") {
    Object.assign(view, { info: m, paths: {} });
    $("#race-solutions").textContent = m.solutions;
  }
  if (m.type === "ready" || m.type === "frame") {
    const body = $("#race-table tbody");
    body.textContent = "";
    for (const [method, run] of Object.entries(m.runs)) {
      const path = view.paths[method] || (view.paths[method] = []);
      for (const p of run.points) path.push(p);
      if (method === "monte-carlo" && path.length > 3000) path.splice(0, path.length - 3000);
      run.current = run.theta;
      view[method] = run;
      const tr = document.createElement("tr");
      tr.dataset.method = method;
      const status = (run.status || "running") + (run.restarts ? ` (restarted ${run.restarts}× from random points)` : "");
      const cells = [run.label, String(run.evaluations), fmt(run.residual, 4), status];
      for (const text of cells) { const td = document.createElement("td"); td.textContent = text; tr.appendChild(td); }
      tr.children[2].dataset.value = run.residual === null ? "" : String(run.residual);
      tr.firstChild.style.color = RACE_COLOURS[method];
      if (run.message) tr.title = run.message;
      body.appendChild(tr);
    }
    scheduleDraw();
  }
}

// log₁₀ J over the search box, in bands, on a canvas of its own (drawn once per race)
function contourImage(c) {
  const n = c.n;
  let lo = Infinity, hi = -Infinity;
  for (const v of c.log10_loss) if (v !== null) { lo = Math.min(lo, v); hi = Math.max(hi, v); }
  const off = document.createElement("canvas");
  off.width = n; off.height = n;
  const octx = off.getContext("2d");
  const img = octx.createImageData(n, n);
  for (let r = 0; r < n; r++) for (let k = 0; k < n; k++) {
    const v = c.log10_loss[r * n + k];
    const q = v === null ? 1 : (v - lo) / (hi - lo || 1);
    const band = Math.floor(q * 12) % 2 ? 8 : 0;
    const g = Math.round(250 - q * 150 - band);
    const at = ((n - 1 - r) * n + k) * 4;
    img.data[at] = g; img.data[at + 1] = g; img.data[at + 2] = Math.min(255, g + 12); img.data[at + 3] = 255;
  }
  octx.putImageData(img, 0, 0);
  return off;
}

function drawRace() {
  const canvas = $("#race-canvas");
  const ctx = canvas.getContext("2d");
  const info = view.info;
  const W = canvas.width, H = canvas.height;
  ctx.clearRect(0, 0, W, H);
  if (!info || !info.contour) {
    ctx.fillStyle = "#5b6475"; ctx.font = "13px system-ui";
    ctx.fillText("the picture is drawn for equations in two unknowns", 20, 30);
    return;
  }
  const c = info.contour;
  view.contourImage = view.contourImage || contourImage(c); // the contour does not change during a race
  ctx.imageSmoothingEnabled = true;
  ctx.drawImage(view.contourImage, 0, 0, W, H);
  const [x0, y0] = c.low, [x1, y1] = c.high;
  const px = (x) => (x - x0) / (x1 - x0) * W, py = (y) => H - (y - y0) / (y1 - y0) * H;
  for (const [method, path] of Object.entries(view.paths)) {
    ctx.strokeStyle = ctx.fillStyle = RACE_COLOURS[method];
    if (method === "monte-carlo") {
      for (const p of path) { ctx.fillRect(px(p[0]) - 1, py(p[1]) - 1, 2, 2); }
    } else {
      ctx.lineWidth = 1.5; ctx.beginPath();
      path.forEach((p, i) => (i ? ctx.lineTo(px(p[0]), py(p[1])) : ctx.moveTo(px(p[0]), py(p[1]))));
      ctx.stroke();
    }
    const run = view[method];
    if (run && run.best) {
      ctx.beginPath(); ctx.arc(px(run.best[0]), py(run.best[1]), 5, 0, 2 * Math.PI); ctx.fill();
      ctx.strokeStyle = "white"; ctx.lineWidth = 1; ctx.stroke();
    }
  }
}

// --- learning rates side by side -----------------------------------------------------------
const RATE_COLOURS = { "too small": "#8a8f99", "about right": "#2f8f4e", "too large": "#e07b00", "far too large": "#b3261e" };

function ratesMessage(m) {
  if (m.type === "ready") {
    Object.assign(view, { info: m, curves: {} });
    $("#rates-intro").textContent = `The obesity neuron from the same random weights, ${m.config.steps} gradient ` +
      `steps each. The range test suggests η = ${fmt(m.suggestion, 3)}: ${m.reason}.`;
    const legend = $("#rates-legend");
    legend.textContent = "";
    for (const [name, eta] of Object.entries(m.rates)) {
      const li = document.createElement("li");
      li.dataset.rate = name;
      const sw = document.createElement("span"); sw.className = "swatch"; sw.style.background = RATE_COLOURS[name];
      const text = document.createElement("span"); text.textContent = `η ${name} = ${fmt(eta, 3)}`;
      const verdict = document.createElement("div"); verdict.className = "note verdict";
      li.append(sw, text, verdict);
      legend.appendChild(li);
    }
  }
  if (m.type === "ready" || m.type === "frame") {
    for (const [name, run] of Object.entries(m.runs)) {
      const c = view.curves[name] || (view.curves[name] = { xs: [], ys: [] });
      run.losses.forEach((v, i) => { c.xs.push(run.from + i); c.ys.push(v); });
    }
    scheduleDraw();
  } else if (m.type === "ended" && m.verdicts) {
    for (const [name, v] of Object.entries(m.verdicts)) {
      const li = $(`#rates-legend li[data-rate="${name}"] .verdict`);
      if (li) li.textContent = `${v.verdict}: ${v.why}`;
    }
  }
}

function drawRates() {
  const start = view.curves["about right"] ? view.curves["about right"].ys[0] : undefined;
  const series = Object.entries(view.curves).map(([name, c]) => ({ xs: c.xs, ys: c.ys, color: RATE_COLOURS[name] }));
  drawCurves($("#rates-chart"), series, { ceiling: start ? Math.log10(start) + 2 : undefined });
}

// --- controls ------------------------------------------------------------------------------
function fillSelect(select, values, current) {
  select.textContent = "";
  for (const v of values) { const o = document.createElement("option"); o.value = o.textContent = v; select.appendChild(o); }
  if (current !== undefined) select.value = current;
}

function setupControls() {
  fillSelect($("#dataset"), [...options.datasets, "csv"], state.dataset);
  $("#dataset").querySelector('option[value="csv"]').textContent = "your own CSV…";
  fillSelect($("#activation"), options.activations, state.activation);
  fillSelect($("#loss-fn"), options.losses, state.loss);
  fillSelect($("#strategy"), options.strategies, state.strategy);
  $("#batch-size").value = state.batch;
  $("#alpha").value = state.alpha;
  $("#seed").value = state.seed;
  $("#lr").value = Math.log10(Number(state.lr));
  $("#lr-value").textContent = fmt(Number(state.lr), 3);
  $("#equation").value = state.eq;
  $("#budget").value = state.budget;
  $("#race-seed").value = state.rseed;
  for (const s of $$(".speed")) s.value = Math.log10(Number(state.speed));
  $("#csv-controls").hidden = state.dataset !== "csv";

  for (const b of $$("#tabs button")) b.addEventListener("click", () => { if (!b.disabled) showSection(b.dataset.section); });
  $("#add-layer").addEventListener("click", () => {
    const sizes = layerSizes(), acts = layerActivations();
    if (sizes.length >= NETWORK_LIMITS.layers) return;
    sizes.push(sizes.length ? sizes[sizes.length - 1] : 4); acts.push(acts.length ? acts[acts.length - 1] : "tanh");
    setLayers(sizes, acts); openSection();
  });
  for (const section of $$(".section")) {
    const play = $(".play", section);
    if (play) play.addEventListener("click", () => {
      // "play" is shown as playing once the server says so (a run that has ended does not play)
      if (playing) { send({ type: "pause" }); playing = false; updatePlayButtons(); } else send({ type: "play" });
    });
    const one = $(".step", section);
    if (one) one.addEventListener("click", () => { playing = false; updatePlayButtons(); send({ type: "step", n: 1 }); });
    const reset = $(".reset", section);
    if (reset) reset.addEventListener("click", () => { playing = false; updatePlayButtons(); openSection(); });
    const explain = $(".explain", section);
    if (explain) explain.addEventListener("click", () => send({ type: "explain" }));
    const speed = $(".speed", section);
    if (speed) speed.addEventListener("input", () => {
      // the slider's top (10^3.7) is a little past the server's cap: ask for the cap there
      state.speed = String(Math.min(options.max_steps_per_second, Math.round(10 ** Number(speed.value))));
      for (const s of $$(".speed")) s.value = speed.value;
      writeHash();
      send({ type: "speed", steps_per_second: Number(state.speed) });
    });
  }
  // settings that take effect at the next step
  $("#lr").addEventListener("input", () => {
    const eta = Number((10 ** Number($("#lr").value)).toPrecision(3));
    state.lr = String(eta); $("#lr-value").textContent = fmt(eta, 3); writeHash();
    send({ type: "set", settings: { learning_rate: eta } });
  });
  const live = { "#activation": "activation", "#loss-fn": "loss", "#strategy": "strategy" };
  for (const [sel, key] of Object.entries(live)) {
    $(sel).addEventListener("change", () => {
      state[key] = $(sel).value; writeHash();
      send({ type: "set", settings: { [key]: state[key] } });
    });
  }
  $("#batch-size").addEventListener("change", () => {
    state.batch = $("#batch-size").value; writeHash();
    send({ type: "set", settings: { batch_size: state.batch === "all" ? null : Number(state.batch) } });
  });
  $("#alpha").addEventListener("change", () => {
    state.alpha = $("#alpha").value || "0"; writeHash();
    send({ type: "set", settings: { alpha: Number(state.alpha) } });
  });
  // settings that change the data: a new run
  $("#seed").addEventListener("change", () => { state.seed = $("#seed").value || "0"; writeHash(); openSection(); });
  $("#dataset").addEventListener("change", () => {
    state.dataset = $("#dataset").value; writeHash();
    $("#csv-controls").hidden = state.dataset !== "csv";
    if (state.dataset !== "csv") openSection();
  });
  $("#csv-file").addEventListener("change", uploadFile);
  $("#csv-use").addEventListener("click", () => {
    if (!upload) { showError("choose a file first"); return; }
    upload.chosen = { features: [$("#feature-1").value, $("#feature-2").value], target: $("#target").value };
    openSection();
  });
  $("#use-suggestion").addEventListener("click", () => {
    const eta = Number($("#use-suggestion").dataset.value);
    state.lr = String(Number(eta.toPrecision(3))); writeHash();
    $("#lr").value = Math.log10(eta); $("#lr-value").textContent = fmt(eta, 3);
    openSection();
  });
  $("#export").addEventListener("click", () => send({ type: "export" }));
  $("#race-start").addEventListener("click", () => {
    state.eq = $("#equation").value; state.budget = $("#budget").value || "2000";
    state.rseed = $("#race-seed").value || "0"; writeHash();
    openSection();
    send({ type: "play" });
  });
}

async function uploadFile() {
  const file = $("#csv-file").files[0];
  if (!file) return;
  if (file.size > options.max_upload_bytes) {
    showError(`${file.name}: the file is larger than the playground's limit of ${options.max_upload_bytes / 1048576} MB`);
    return;
  }
  const response = await fetch(`/api/upload?token=${encodeURIComponent(token)}&name=${encodeURIComponent(file.name)}`,
    { method: "POST", body: file });
  const answer = await response.json();
  if (!response.ok) { showError(answer.error); return; }
  upload = answer;
  fillSelect($("#feature-1"), answer.numeric, answer.numeric[0]);
  fillSelect($("#feature-2"), answer.numeric, answer.numeric[1]);
  fillSelect($("#target"), answer.columns, answer.columns[answer.columns.length - 1]);
}

async function main() {
  const response = await fetch(`/api/options?token=${encodeURIComponent(token)}`);
  if (!response.ok) { $("#connection").textContent = (await response.json()).error; return; }
  options = await response.json();
  setupControls();
  ws = new WebSocket(`${location.protocol === "https:" ? "wss" : "ws"}://${location.host}/ws?token=${encodeURIComponent(token)}`);
  ws.addEventListener("open", () => { $("#connection").textContent = "connected to neuronlab"; showSection(state.section); });
  ws.addEventListener("message", onMessage);
  ws.addEventListener("close", () => {
    if (!$("#connection").textContent.startsWith("this page was idle")) $("#connection").textContent = "disconnected: is neuronlab playground still running?";
    playing = false; updatePlayButtons();
  });
}

document.addEventListener("DOMContentLoaded", main);
