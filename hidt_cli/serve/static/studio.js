// hidt studio: the page over the HTTP API of `hidt serve` (docs/serve-api.md). Plain
// JavaScript, no build step. The server renders everything; this file keeps the choices
// (photo, style code, strength) and asks for pictures, at most one preview at a time.

const $ = (id) => document.getElementById(id);
const DIMS = 3;

const state = {
  info: null,
  presets: [],          // [{name, code}]
  photos: new Map(),    // id -> {id, name, origin, element, details}
  current: null,        // id of the photo shown
  code: [0, 0, 0],      // the target style code
  label: "style",       // names exports: a preset's name, "random-3", a reference's name
  strength: 1,
  zoom: "fit",
};

// ------------------------------------------------------------------ the API

class ApiError extends Error {}

async function api(path, options = {}) {
  const response = await fetch(path, options);
  if (!response.ok) {
    let message = `${response.status} ${response.statusText}`;
    try {
      message = (await response.json()).error || message;
    } catch (_) { /* not JSON: keep the status line */ }
    throw new ApiError(message);
  }
  return response;
}

const getJson = async (path) => (await api(path)).json();
const postJson = async (path, body) => (await api(path, {
  method: "POST",
  headers: { "content-type": "application/json" },
  body: JSON.stringify(body),
})).json();

// Refused here rather than by a server that stops reading, which a browser reports only
// as a failed request.
function tooLarge(file) {
  const limit = state.info.max_upload_bytes;
  if (file.size > limit) {
    const mb = (bytes) => `${(bytes / 2 ** 20).toFixed(1)} MB`;
    throw new ApiError(`${file.name}: ${mb(file.size)} is over the upload limit of ${mb(limit)} (--max-upload-mb)`);
  }
}

function postFile(path, file) {
  const form = new FormData();
  form.append("image", file, file.name);
  return api(path, { method: "POST", body: form }).then((r) => r.json());
}

// ------------------------------------------------------------------ messages

function showError(message) {
  $("error-text").textContent = message;
  $("error").hidden = false;
}

function status(text) {
  $("status").textContent = text;
}

// Every action reports its own failure in the banner; the page keeps working.
function guarded(action) {
  return async (...args) => {
    try {
      return await action(...args);
    } catch (error) {
      showError(error instanceof ApiError ? error.message : String(error));
      status("");
      return undefined;
    }
  };
}

// ------------------------------------------------------------------ photos

function addPhoto(photo) {
  const item = document.createElement("li");
  const button = document.createElement("button");
  button.className = "photo";
  button.title = photo.name;
  const thumb = document.createElement("img");
  thumb.loading = "lazy";
  thumb.alt = "";
  thumb.src = `/api/photos/${photo.id}/original?size=thumb`;
  const name = document.createElement("span");
  name.textContent = photo.name;
  button.append(thumb, name);
  button.addEventListener("click", guarded(() => select(photo.id)));
  item.append(button);
  $("photo-list").append(item);
  state.photos.set(photo.id, { ...photo, element: button });
}

const openFiles = guarded(async (files) => {
  let first = null;
  for (const file of files) {
    status(`opening ${file.name}…`);
    try {
      tooLarge(file);
      const photo = await postFile("/api/photos", file);
      addPhoto(photo);
      state.photos.get(photo.id).details = photo;
      first = first || photo.id;
    } catch (error) {
      showError(error.message);
    }
  }
  status("");
  if (first) await select(first);
});

async function select(id) {
  const photo = state.photos.get(id);
  state.current = id;
  for (const other of state.photos.values()) other.element.classList.toggle("on", other.id === id);
  status(`opening ${photo.name}…`);
  photo.details = photo.details || (await getJson(`/api/photos/${id}`));
  $("empty").hidden = true;
  $("compare").hidden = false;
  fitCompare();
  showBefore();
  state.inputAt = undefined; // opening a photo is not a style change: not measured
  requestPreview();
  updateCli();
  await loadGallery(id);
}

function showBefore() {
  const size = state.zoom === "full" ? "full" : "preview";
  $("before").src = `/api/photos/${state.current}/original?size=${size}`;
}

async function loadGallery(id) {
  const gallery = $("gallery");
  gallery.replaceChildren();
  gallery.classList.add("loading");
  const { tiles } = await getJson(`/api/photos/${id}/gallery`);
  if (state.current !== id) return;
  gallery.classList.remove("loading");
  for (const tile of tiles) {
    const button = document.createElement("button");
    button.className = "tile";
    button.dataset.preset = tile.name;
    const image = document.createElement("img");
    image.src = tile.image;
    image.alt = `${tile.name}`;
    const caption = document.createElement("span");
    caption.textContent = tile.name;
    button.append(image, caption);
    button.addEventListener("click", () => setStyle(tile.code, tile.name, { full: true }));
    gallery.append(button);
  }
  markPreset();
}

// ------------------------------------------------------------------ the style

function setStyle(code, label, { full = false } = {}) {
  state.code = code.map(Number);
  state.label = label;
  if (full) setStrength(1);
  showCode();
  styleChanged();
}

function setStrength(value) {
  state.strength = value;
  $("strength").value = Math.round(value * 100);
  $("strength-value").textContent = `${Math.round(value * 100)} %`;
}

function showCode() {
  state.code.forEach((value, i) => {
    $(`code-${i}`).value = value;
    $(`code-${i}-value`).textContent = value.toFixed(2);
  });
  drawHandle();
  markPreset();
}

function markPreset() {
  for (const tile of document.querySelectorAll(".tile")) {
    tile.classList.toggle("on", tile.dataset.preset === state.label && state.strength === 1);
  }
}

// The code the server applies at this strength (it does the same on its side).
function effectiveCode() {
  const own = state.photos.get(state.current)?.details?.own_code;
  if (!own || state.strength === 1) return state.code;
  return state.code.map((value, i) => own[i] + state.strength * (value - own[i]));
}

function updateCli() {
  const photo = state.photos.get(state.current);
  if (!photo) return;
  const preset = state.presets.find((p) => p.name === state.label);
  const style = preset && state.strength === 1
    ? `--preset ${preset.name}`
    : `--style-code=${effectiveCode().map((v) => v.toFixed(3)).join(",")}`;
  $("cli").textContent = `hidt translate ${photo.name.split("/").pop()} ${style}`;
}

// A style change: the time from here to its picture on screen is measured
// (performance entries "hidt:preview", shown beside the viewer).
function styleChanged() {
  state.inputAt = performance.now();
  updateCli();
  requestPreview();
}

// ------------------------------------------------------------------ previews
// One request in flight at most; a style change while it runs only replaces what is asked
// next, so dragging a slider never queues up work on the server.

let wanted = null;
let inFlight = false;

function styleQuery() {
  return `code=${state.code.join(",")}&strength=${state.strength}&label=${encodeURIComponent(state.label)}`;
}

function requestPreview() {
  if (!state.current) return;
  const route = state.zoom === "full" ? "view" : "preview";
  const url = `/api/photos/${state.current}/${route}?${styleQuery()}`;
  wanted = { id: state.current, url, since: state.inputAt };
  state.inputAt = undefined;
  if (!inFlight) pump();
}

async function pump() {
  inFlight = true;
  while (wanted) {
    const job = wanted;
    wanted = null;
    status(state.zoom === "full" ? "rendering at full size…" : "rendering…");
    try {
      const blob = await (await api(job.url)).blob();
      if (job.id !== state.current) continue;
      await show($("after"), URL.createObjectURL(blob));
      $("after").dataset.shown = String(Number($("after").dataset.shown || 0) + 1);
      if (job.since !== undefined) {
        const measure = performance.measure("hidt:preview", { start: job.since, end: performance.now() });
        const cached = fromCache(job.url) ? " (seen before: from the browser's cache)" : "";
        $("timing").textContent = `style change → picture: ${Math.round(measure.duration)} ms${cached}`;
      }
    } catch (error) {
      showError(error.message);
    }
  }
  status("");
  inFlight = false;
}

// Whether the browser answered the last request for this URL itself (previews are cacheable).
function fromCache(url) {
  const entries = performance.getEntriesByName(new URL(url, location.href).href);
  const last = entries[entries.length - 1];
  return Boolean(last) && last.transferSize === 0 && last.decodedBodySize > 0;
}

// Resolves once the new picture is decoded and on screen.
async function show(image, url) {
  const old = image.src;
  image.src = url;
  await image.decode().catch(() => {});
  await new Promise((resolve) => requestAnimationFrame(() => resolve()));
  if (old.startsWith("blob:")) URL.revokeObjectURL(old);
}

// ------------------------------------------------------------------ the style pad
// The first two numbers of the code as a plane, the presets as points on it.

const SVG = "http://www.w3.org/2000/svg";

function svg(name, attributes) {
  const element = document.createElementNS(SVG, name);
  for (const [key, value] of Object.entries(attributes)) element.setAttribute(key, value);
  return element;
}

function drawPad() {
  const pad = $("pad");
  pad.replaceChildren();
  for (let v = -2; v <= 2; v += 1) {
    pad.append(svg("line", { x1: v, y1: -3, x2: v, y2: 3, class: v ? "grid" : "axis" }));
    pad.append(svg("line", { x1: -3, y1: v, x2: 3, y2: v, class: v ? "grid" : "axis" }));
  }
  pad.append(axisName("a →", 2.9, 2.85, "end"), axisName("b ↑", -2.85, -2.7, "start"));
  const placed = state.presets.map(({ code: [a, b] }) => ({ x: a - 0.12, y: -b + 0.08, w: 0.24 }));
  for (const preset of state.presets) {
    const [a, b] = preset.code;
    const point = svg("g", { class: "preset", "data-preset": preset.name });
    point.append(svg("circle", { cx: a, cy: -b, r: 0.11 }));
    const [x, y] = labelPlace(a, -b, preset.name.length, placed);
    const text = svg("text", { x, y });
    text.textContent = preset.name;
    point.append(text);
    point.addEventListener("pointerdown", (event) => {
      event.stopPropagation();
      setStyle(preset.code, preset.name, { full: true });
    });
    pad.append(point);
  }
  pad.append(svg("circle", { id: "handle", r: 0.16, class: "handle" }));
  drawHandle();
}

function axisName(text, x, y, anchor) {
  const name = svg("text", { x, y, class: "axis-name", "text-anchor": anchor });
  name.textContent = text;
  return name;
}

// Right of the point, moved down (or to the left) while it would cover an earlier label.
function labelPlace(x, y, chars, placed) {
  const width = 0.13 * chars;
  const overlaps = (lx, ly) => placed.some((p) => lx < p.x + p.w && p.x < lx + width && Math.abs(ly - p.y) < 0.24);
  const tries = [[x + 0.17, y + 0.08], [x + 0.17, y + 0.34], [x + 0.17, y - 0.18], [x - 0.17 - width, y + 0.08]];
  const [lx, ly] = tries.find(([tx, ty]) => !overlaps(tx, ty)) || tries[0];
  placed.push({ x: lx, y: ly, w: width });
  return [lx, ly];
}

function drawHandle() {
  const handle = $("handle");
  if (!handle) return;
  handle.setAttribute("cx", clamp(state.code[0]));
  handle.setAttribute("cy", -clamp(state.code[1]));
}

const clamp = (v) => Math.max(-3, Math.min(3, v));

function padPoint(event) {
  const pad = $("pad");
  const point = new DOMPoint(event.clientX, event.clientY).matrixTransform(pad.getScreenCTM().inverse());
  return [clamp(point.x), clamp(-point.y)];
}

function watchPad() {
  const pad = $("pad");
  const move = (event) => {
    const [a, b] = padPoint(event);
    setStyle([round(a), round(b), state.code[2]], "style");
  };
  pad.addEventListener("pointerdown", (event) => {
    pad.setPointerCapture(event.pointerId);
    move(event);
    pad.addEventListener("pointermove", move);
  });
  pad.addEventListener("pointerup", () => pad.removeEventListener("pointermove", move));
}

const round = (v) => Math.round(v * 100) / 100;

// ------------------------------------------------------------------ before / after and zoom

function setSplit(percent) {
  $("split").value = percent;
  $("before").style.clipPath = `inset(0 ${100 - percent}% 0 0)`;
  $("divider").style.left = `${percent}%`;
}

function watchCompare() {
  const compare = $("compare");
  let dragging = false;
  const follow = (event) => {
    const box = compare.getBoundingClientRect();
    setSplit(Math.max(0, Math.min(100, ((event.clientX - box.left) / box.width) * 100)));
  };
  $("divider").addEventListener("pointerdown", (event) => {
    dragging = true;
    compare.setPointerCapture(event.pointerId);
    follow(event);
  });
  compare.addEventListener("pointermove", (event) => dragging && follow(event));
  compare.addEventListener("pointerup", () => { dragging = false; });
  $("split").addEventListener("input", (event) => setSplit(Number(event.target.value)));
  setSplit(50);
}

// The compare box is the picture's own shape: fitted into the viewer, or at 100 % its
// pixel size (the viewer then scrolls).
function fitCompare() {
  const details = state.photos.get(state.current)?.details;
  if (!details) return;
  const compare = $("compare");
  let width = details.width;
  let height = details.height;
  if (state.zoom !== "full") {
    const box = $("viewer").getBoundingClientRect();
    const scale = Math.min(box.width / width, box.height / height);
    width *= scale;
    height *= scale;
  }
  compare.style.width = `${Math.floor(width)}px`;
  compare.style.height = `${Math.floor(height)}px`;
}

function setZoom(zoom) {
  state.zoom = zoom;
  const full = zoom === "full";
  $("zoom-fit").classList.toggle("on", !full);
  $("zoom-100").classList.toggle("on", full);
  $("zoom-fit").setAttribute("aria-pressed", String(!full));
  $("zoom-100").setAttribute("aria-pressed", String(full));
  const viewer = $("viewer");
  viewer.classList.toggle("actual", full);
  if (!state.current) return;
  fitCompare();
  showBefore();
  requestPreview();
  if (full) {
    requestAnimationFrame(() => {
      viewer.scrollLeft = (viewer.scrollWidth - viewer.clientWidth) / 2;
      viewer.scrollTop = (viewer.scrollHeight - viewer.clientHeight) / 2;
    });
  }
}

// ------------------------------------------------------------------ export and jobs

function download(blob, name) {
  const link = document.createElement("a");
  link.href = URL.createObjectURL(blob);
  link.download = name;
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(link.href), 60_000);
}

function filename(response, fallback) {
  const header = response.headers.get("content-disposition") || "";
  const match = header.match(/filename\*=UTF-8''([^;]+)/);
  return match ? decodeURIComponent(match[1]) : fallback;
}

const exportPhoto = guarded(async () => {
  if (!state.current) throw new ApiError("open a photo first");
  status("exporting at full size…");
  const format = $("format").value;
  const response = await api(`/api/photos/${state.current}/export?${styleQuery()}&format=${format}`);
  download(await response.blob(), filename(response, `export.${format}`));
  status("");
});

const exportLut = guarded(async () => {
  if (!state.current) throw new ApiError("open a photo first");
  const response = await api(`/api/photos/${state.current}/lut?${styleQuery()}`);
  download(await response.blob(), filename(response, "look.cube"));
});

// Polls a job until it ends; the bar shows its progress, the button cancels it.
async function follow(job, bar, cancel) {
  bar.hidden = false;
  cancel.hidden = false;
  cancel.onclick = guarded(() => postJson(`/api/jobs/${job.id}/cancel`, {}));
  try {
    while (["queued", "running"].includes(job.state)) {
      bar.max = job.total;
      bar.value = job.done;
      await new Promise((resolve) => setTimeout(resolve, 250));
      job = await getJson(`/api/jobs/${job.id}`);
    }
  } finally {
    bar.hidden = true;
    cancel.hidden = true;
  }
  if (job.state === "failed") throw new ApiError(job.error);
  if (job.problems.length) showError(job.problems.join("\n"));
  return job;
}

const applyToAll = guarded(async () => {
  const ids = [...state.photos.keys()];
  if (!ids.length) throw new ApiError("open some photos first");
  status(`applying to ${ids.length} photos…`);
  const job = await follow(
    await postJson("/api/jobs/apply", {
      photos: ids,
      code: state.code.join(","),
      strength: state.strength,
      format: $("format").value,
      label: state.label,
    }),
    $("apply-progress"),
    $("apply-cancel"),
  );
  if (job.state === "done") {
    const response = await api(job.result);
    download(await response.blob(), filename(response, "hidt.zip"));
  }
  status(job.state === "cancelled" ? "cancelled" : "");
});

const makeTimelapse = guarded(async () => {
  if (!state.current) throw new ApiError("open a photo first");
  status("rendering the timelapse…");
  const job = await follow(
    await postJson("/api/jobs/timelapse", {
      photo: state.current,
      keyframes: $("keyframes").value,
      frames: Number($("frames").value),
    }),
    $("timelapse-progress"),
    $("timelapse-cancel"),
  );
  if (job.state === "done") {
    const video = $("timelapse-video");
    video.src = job.result;
    video.hidden = false;
    await video.play().catch(() => {});
  }
  status(job.state === "cancelled" ? "cancelled" : "");
});

const styleFromPhoto = guarded(async (file) => {
  status(`reading the style of ${file.name}…`);
  tooLarge(file);
  const { code } = await postFile("/api/style", file);
  setStyle(code, file.name.replace(/\.[^.]*$/, "") || "reference", { full: true });
});

const randomStyle = guarded(async () => {
  const seed = Number($("seed").value) || 0;
  const { codes } = await getJson(`/api/random?seed=${seed}`);
  setStyle(codes[0], `random-${seed}`, { full: true });
  $("seed").value = seed + 1;
});

// ------------------------------------------------------------------ start

// Through the day where the presets allow it, else the first four presets.
function defaultKeyframes(names) {
  const day = ["day", "sunset", "dusk", "night"].filter((name) => names.includes(name));
  return (day.length >= 2 ? day : names.slice(0, 4)).join(",");
}

function watchDrops() {
  let depth = 0;
  const overlay = $("drop");
  window.addEventListener("dragenter", (event) => {
    event.preventDefault();
    depth += 1;
    overlay.hidden = false;
  });
  window.addEventListener("dragleave", () => {
    depth -= 1;
    if (depth <= 0) overlay.hidden = true;
  });
  window.addEventListener("dragover", (event) => event.preventDefault());
  window.addEventListener("drop", (event) => {
    event.preventDefault();
    depth = 0;
    overlay.hidden = true;
    openFiles([...event.dataTransfer.files]);
  });
}

function watchControls() {
  for (let i = 0; i < DIMS; i += 1) {
    $(`code-${i}`).addEventListener("input", (event) => {
      const code = [...state.code];
      code[i] = Number(event.target.value);
      setStyle(code, "style");
    });
  }
  $("strength").addEventListener("input", (event) => {
    setStrength(Number(event.target.value) / 100);
    markPreset();
    styleChanged();
  });
  $("open-input").addEventListener("change", (event) => {
    openFiles([...event.target.files]);
    event.target.value = "";
  });
  $("style-input").addEventListener("change", (event) => {
    if (event.target.files[0]) styleFromPhoto(event.target.files[0]);
    event.target.value = "";
  });
  $("random").addEventListener("click", randomStyle);
  $("export").addEventListener("click", exportPhoto);
  $("lut").addEventListener("click", exportLut);
  $("apply-all").addEventListener("click", applyToAll);
  $("timelapse").addEventListener("click", makeTimelapse);
  $("zoom-fit").addEventListener("click", () => setZoom("fit"));
  $("zoom-100").addEventListener("click", () => setZoom("full"));
  $("error-close").addEventListener("click", () => { $("error").hidden = true; });
}

const start = guarded(async () => {
  watchControls();
  watchCompare();
  watchPad();
  watchDrops();
  new ResizeObserver(fitCompare).observe($("viewer"));
  state.info = await getJson("/api/info");
  const weights = state.info.weights.replace(/\(([^)]*\/)?([^/)]+)\)/, "($2)"); // no folders
  $("weights").textContent = `${weights} · ${state.info.device}`;
  for (const format of state.info.formats) $("format").append(new Option(format, format));
  state.presets = (await getJson("/api/styles")).styles;
  $("keyframes").value = defaultKeyframes(state.presets.map((p) => p.name));
  drawPad();
  const first = state.presets.find((p) => p.name === "night") || state.presets[0];
  if (first) setStyle(first.code, first.name);
  else showCode();
  const { photos } = await getJson("/api/photos");
  for (const photo of photos) addPhoto(photo);
  if (photos.length) await select(photos[0].id);
  document.body.dataset.ready = "true";
});

start();
