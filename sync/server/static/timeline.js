// The lead's timeline of one agent's day, drawn as SVG from the server's
// read API (GET /v1/lead/agents/{id}/timeline). No build step, no library.
"use strict";

const GUTTER = 104;
const AXIS = 30;
const MARGIN = 10;
const LANE_GAP = 4;
const SHOTS_HEIGHT = 78;
const THUMB = [96, 54];
const MIN_MS_PER_PX = 50;
const LANE_HEIGHTS = {
  entries: 30, apps: 22, titles: 22, domains: 22, activity: 44,
  idle: 20, breaks: 20, flags: 18,
};
const IDLE_COLOURS = {
  keep: "#4caf50", discard: "#9e9e9e", reassign: "#42a5f5", break: "#ffa726",
  split: "#ab47bc", stop: "#616161", unresolved: "#e53935",
};
const FIXED_COLOURS = {
  paid: "#26a69a", unpaid: "#ffb300", flag: "#d32f2f", flagged: "#ef6c00",
  activity: "#43a047",
};
const GROUPS = ["projects", "tasks", "apps", "domains"];
const SVG = "http://www.w3.org/2000/svg";

const state = {
  token: null, agent: null, day: null, tz: null, timeline: null,
  viewStart: 0, msPerPx: 60000, thumbs: new Map(), drag: null,
};

const $ = (id) => document.getElementById(id);

// --- colours, as ui/timeline_canvas.key_colour picks them --------------------

const CRC_TABLE = (() => {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
})();

function crc32(text) {
  let crc = 0xffffffff;
  for (const byte of new TextEncoder().encode(text)) {
    crc = CRC_TABLE[(crc ^ byte) & 0xff] ^ (crc >>> 8);
  }
  return (crc ^ 0xffffffff) >>> 0;
}

function hsv(hue, saturation, value) {
  const s = saturation / 255, v = value / 255;
  const c = v * s, x = c * (1 - Math.abs(((hue / 60) % 2) - 1)), m = v - c;
  const [r, g, b] = hue < 60 ? [c, x, 0] : hue < 120 ? [x, c, 0]
    : hue < 180 ? [0, c, x] : hue < 240 ? [0, x, c] : hue < 300 ? [x, 0, c] : [c, 0, x];
  const hex = (f) => Math.round((f + m) * 255).toString(16).padStart(2, "0");
  return `#${hex(r)}${hex(g)}${hex(b)}`;
}

function keyColour(key, saturation = 150, value = 215) {
  return hsv(crc32(key) % 360, saturation, value);
}

function colourOf(kind, key) {
  if (kind === "idle") return IDLE_COLOURS[key] || "#e53935";
  if (kind === "entries") return keyColour(key, 170, 200);
  if (key in FIXED_COLOURS) return FIXED_COLOURS[key];
  return keyColour(key, 90, 225);
}

// --- the read API ---------------------------------------------------------------

class ApiError extends Error {}

async function api(path, params) {
  const url = new URL(path, location.origin);
  for (const [name, value] of Object.entries(params || {})) url.searchParams.set(name, value);
  const answer = await fetch(url, { headers: { Authorization: `Bearer ${state.token}` } });
  if (answer.status === 401 || answer.status === 403) {
    sessionStorage.removeItem("punchclock-lead-token");
    showSignIn();
    throw new ApiError("The lead token was refused: paste it again.");
  }
  if (!answer.ok) {
    let detail = answer.statusText;
    try { detail = (await answer.json()).detail || detail; } catch (_) { /* not JSON */ }
    throw new ApiError(`${detail} (HTTP ${answer.status})`);
  }
  return answer;
}

function setStatus(text, error = false) {
  $("status").textContent = text;
  $("status").className = error ? "error" : "";
}

function showSignIn() {
  $("sign-in").hidden = false;
  $("token").focus();
}

// --- times in the chosen zone ------------------------------------------------------

function clock(ms) {
  return new Intl.DateTimeFormat("en-GB", {
    timeZone: state.tz, hour: "2-digit", minute: "2-digit", second: "2-digit",
    hourCycle: "h23",
  }).format(new Date(ms));
}

function durationText(seconds) {
  const minutes = Math.round(seconds / 60);
  return `${Math.floor(minutes / 60)}:${String(minutes % 60).padStart(2, "0")}`;
}

function viewerZone() {
  return Intl.DateTimeFormat().resolvedOptions().timeZone || "UTC";
}

// --- state in the address: ?agent=&day=&tz= ------------------------------------------

function readAddress() {
  const query = new URLSearchParams(location.search);
  const fragment = new URLSearchParams(location.hash.slice(1));
  if (fragment.get("token")) {
    sessionStorage.setItem("punchclock-lead-token", fragment.get("token"));
  }
  state.token = sessionStorage.getItem("punchclock-lead-token");
  state.agent = query.get("agent");
  state.day = query.get("day") || new Date().toISOString().slice(0, 10);
  state.tz = query.get("tz") || viewerZone();
  writeAddress();
}

function writeAddress() {
  const query = new URLSearchParams({ day: state.day, tz: state.tz });
  if (state.agent) query.set("agent", state.agent);
  history.replaceState(null, "", `${location.pathname}?${query}`);
}

function stepDay(days) {
  const day = new Date(`${state.day}T12:00:00Z`);
  day.setUTCDate(day.getUTCDate() + days);
  state.day = day.toISOString().slice(0, 10);
  loadDay();
}

// --- loading ---------------------------------------------------------------------

async function start() {
  readAddress();
  wireControls();
  fillZones();
  $("day").value = state.day;
  if (!state.token) {
    setStatus("Sign in with the lead token.");
    showSignIn();
    return;
  }
  await loadAgents();
}

async function loadAgents() {
  try {
    const agents = (await (await api("/v1/lead/agents")).json()).agents;
    const select = $("agent");
    select.replaceChildren();
    for (const agent of agents) {
      const option = new Option(`${agent.hostname} (${agent.agent_id.slice(0, 8)})`, agent.agent_id);
      select.add(option);
    }
    if (!agents.length) {
      setStatus("No agent has synced to this server yet.");
      return;
    }
    if (!agents.some((a) => a.agent_id === state.agent)) state.agent = agents[0].agent_id;
    select.value = state.agent;
    await loadDay();
  } catch (error) {
    setStatus(error.message, true);
  }
}

async function loadDay() {
  writeAddress();
  $("day").value = state.day;
  setStatus(`Loading ${state.day}…`);
  try {
    const answer = await api(`/v1/lead/agents/${encodeURIComponent(state.agent)}/timeline`,
      { day: state.day, tz: state.tz });
    state.timeline = await answer.json();
  } catch (error) {
    setStatus(error.message, true);
    return;
  }
  for (const url of state.thumbs.values()) if (url) URL.revokeObjectURL(url);
  state.thumbs = new Map();
  fitData();
  render();
  setStatus(`Read ${new Date().toLocaleTimeString()} from this server.`);
  loadThumbnails();
}

async function loadThumbnails() {
  const timeline = state.timeline;
  for (const shot of timeline.screenshots) {
    if (shot.state !== "image" && shot.state !== "blurred") continue;
    try {
      const path = `/v1/lead/agents/${encodeURIComponent(state.agent)}/screenshots/${shot.id}/thumbnail`;
      const blob = await (await api(path)).blob();
      if (state.timeline !== timeline) return;
      state.thumbs.set(shot.id, URL.createObjectURL(blob));
    } catch (_) {
      state.thumbs.set(shot.id, null);
    }
  }
  if (state.timeline === timeline) {
    render();
    document.body.dataset.thumbnails = "loaded";
  }
}

// --- the view: zoom and scroll ----------------------------------------------------------

function plotWidth() {
  return Math.max($("chart").clientWidth - GUTTER - MARGIN, 50);
}

function fitDay() {
  const t = state.timeline;
  state.msPerPx = (t.end_ms - t.start_ms) / plotWidth();
  state.viewStart = t.start_ms;
}

// The data's first to last moment, widened to whole hours; the whole day
// when there is nothing.
function fitData() {
  const t = state.timeline;
  let first = Infinity, last = -Infinity;
  for (const lane of t.lanes) {
    for (const bar of lane.bars) {
      first = Math.min(first, bar[0]);
      last = Math.max(last, bar[1]);
    }
  }
  if (!(first < last)) { fitDay(); return; }
  const hour = 3600000;
  first = Math.max(t.start_ms, t.start_ms + Math.floor((first - t.start_ms) / hour) * hour);
  last = Math.min(t.end_ms, t.start_ms + Math.ceil((last - t.start_ms) / hour) * hour);
  state.msPerPx = Math.max((last - first) / plotWidth(), MIN_MS_PER_PX);
  state.viewStart = first;
}

function clampView() {
  const t = state.timeline;
  const widest = (t.end_ms - t.start_ms) / plotWidth();
  state.msPerPx = Math.min(Math.max(state.msPerPx, MIN_MS_PER_PX), widest);
  const latest = t.end_ms - plotWidth() * state.msPerPx;
  state.viewStart = Math.max(t.start_ms, Math.min(state.viewStart, latest));
}

function zoom(factor, anchorX) {
  if (!state.timeline) return;
  const x = anchorX === undefined ? plotWidth() / 2 : anchorX - GUTTER;
  const anchor = state.viewStart + x * state.msPerPx;
  state.msPerPx /= factor;
  clampView();
  state.viewStart = anchor - x * state.msPerPx;
  clampView();
  render();
}

function scrollBy(pixels) {
  state.viewStart += pixels * state.msPerPx;
  clampView();
  render();
}

const xOf = (ms) => GUTTER + (ms - state.viewStart) / state.msPerPx;

// --- drawing ----------------------------------------------------------------------------

function el(name, attributes, parent) {
  const node = document.createElementNS(SVG, name);
  for (const [key, value] of Object.entries(attributes)) node.setAttribute(key, value);
  if (parent) parent.appendChild(node);
  return node;
}

function addTitle(node, text) {
  el("title", {}, node).textContent = text;
}

function render() {
  const t = state.timeline;
  if (!t) return;
  clampView();
  const width = plotWidth() + GUTTER + MARGIN;
  const lanesHeight = Object.values(LANE_HEIGHTS).reduce((a, b) => a + b + LANE_GAP, 0);
  const height = AXIS + lanesHeight + SHOTS_HEIGHT + MARGIN;
  const svg = el("svg", { width, height, viewBox: `0 0 ${width} ${height}`, id: "timeline-svg" });
  const defs = el("defs", {}, svg);
  const hatch = el("pattern", { id: "unknown", width: 6, height: 6, patternUnits: "userSpaceOnUse",
    patternTransform: "rotate(45)" }, defs);
  el("rect", { width: 6, height: 6, fill: "#eeeeee" }, hatch);
  el("line", { x1: 0, y1: 0, x2: 0, y2: 6, stroke: "#9e9e9e", "stroke-width": 2 }, hatch);
  const clip = el("clipPath", { id: "plot" }, defs);
  el("rect", { x: GUTTER, y: 0, width: plotWidth(), height }, clip);

  drawHours(svg, height);
  let y = AXIS;
  const plot = el("g", { "clip-path": "url(#plot)" });
  for (const lane of t.lanes) {
    const laneHeight = LANE_HEIGHTS[lane.kind];
    el("rect", { x: GUTTER, y, width: plotWidth(), height: laneHeight, fill: "#ffffff",
      stroke: "#eeeeee" }, svg);
    el("text", { x: 6, y: y + laneHeight / 2 + 4, class: "lane-title" }, svg).textContent = lane.title;
    const group = el("g", { "data-lane": lane.kind }, plot);
    if (lane.kind === "activity") drawActivity(group, lane, y, laneHeight);
    else drawBars(group, lane, y, laneHeight);
    y += laneHeight + LANE_GAP;
  }
  el("text", { x: 6, y: y + 20, class: "lane-title" }, svg).textContent = "Screenshots";
  drawScreenshots(el("g", { "data-lane": "screenshots" }, plot), y);
  svg.appendChild(plot);
  drawRunning(svg, height);
  $("chart").replaceChildren(svg);
  renderText();
}

function drawHours(svg, height) {
  const t = state.timeline;
  let every = 1;
  while ((every * 3600000) / state.msPerPx < 44) every *= 2;
  t.hour_marks.forEach(([moment, label], index) => {
    const x = xOf(moment);
    if (index % every || x < GUTTER || x > GUTTER + plotWidth()) return;
    el("line", { x1: x, y1: AXIS - 4, x2: x, y2: height - MARGIN, stroke: "#e0e0e0" }, svg);
    el("text", { x: x + 3, y: AXIS - 10, class: "hour" }, svg).textContent = label;
  });
}

function visible(bars) {
  const end = state.viewStart + plotWidth() * state.msPerPx;
  return bars.filter((bar) => bar[1] > state.viewStart && bar[0] < end);
}

function barTitle(bar) {
  return `${clock(bar[0])}–${clock(bar[1])} (${durationText((bar[1] - bar[0]) / 1000)})\n${bar[4]}`;
}

function drawBars(group, lane, y, laneHeight) {
  let covered = -1;
  for (const bar of visible(lane.bars)) {
    const x0 = xOf(bar[0]), x1 = xOf(bar[1]);
    if (x1 <= covered) continue; // this pixel is painted already
    const left = x1 - x0 < 1 ? Math.max(x0, covered) : x0;
    const width = Math.max(x1 - left, 1);
    const rect = el("rect", { x: left, y: y + 2, width, height: laneHeight - 4,
      fill: colourOf(lane.kind, bar[3]), "data-key": bar[3] }, group);
    addTitle(rect, barTitle(bar));
    covered = left + width;
    const shownX = Math.max(left, GUTTER);
    const shown = Math.min(left + width, GUTTER + plotWidth()) - shownX;
    if (shown > 36) {
      const label = el("text", { x: shownX + 3, y: y + laneHeight / 2 + 4, class: "label" }, group);
      const room = Math.floor((shown - 6) / 6.5);
      label.textContent = bar[2].length > room ? `${bar[2].slice(0, Math.max(room - 1, 1))}…` : bar[2];
    }
  }
}

function drawActivity(group, lane, y, laneHeight) {
  const usable = laneHeight - 4;
  for (const bar of visible(lane.bars)) {
    const x0 = xOf(bar[0]);
    const width = Math.max(xOf(bar[1]) - x0 - 1, 1);
    let rect;
    if (bar[5] === null) {
      rect = el("rect", { x: x0, y: y + 2, width, height: usable, fill: "url(#unknown)" }, group);
    } else {
      const barHeight = Math.max(Math.round((usable * bar[5]) / 100), 1);
      const fill = bar[3] === "activity" ? hsv(Math.floor(bar[5] * 1.2), 170, 200) : FIXED_COLOURS.flagged;
      rect = el("rect", { x: x0, y: y + laneHeight - 2 - barHeight, width, height: barHeight, fill }, group);
    }
    addTitle(rect, barTitle(bar));
  }
}

function drawScreenshots(group, y) {
  let freeFrom = GUTTER;
  for (const shot of state.timeline.screenshots) {
    const x = xOf(shot.moment_ms);
    if (x < GUTTER - THUMB[0] || x > GUTTER + plotWidth()) continue;
    const hasImage = shot.state === "image" || shot.state === "blurred";
    const mark = el("g", { class: "shot", "data-id": shot.id }, group);
    addTitle(mark, `Screenshot at ${shot.time}\n${shot.detail}`);
    el("rect", { x, y: y + 2, width: 2, height: 10, fill: hasImage ? "#1565c0" : "#9e9e9e" }, mark);
    // Centred under its moment, or moved right of the one before (or of the
    // lane's edge) as long as it still reaches the moment.
    const left = Math.max(x - THUMB[0] / 2, freeFrom);
    if (left > x) continue;
    const box = { x: left, y: y + 14, width: THUMB[0], height: THUMB[1] };
    const url = state.thumbs.get(shot.id);
    if (url) el("image", { ...box, href: url, preserveAspectRatio: "xMidYMid slice" }, mark);
    else el("rect", { ...box, fill: "#eceff1" }, mark);
    el("rect", { ...box, fill: "none", stroke: "#90a4ae" }, mark);
    // No image to show: the audit says why ("deleted by the worker at 10:03").
    if (shot.state === "deleted") boxNote(mark, box, shot.detail);
    if (hasImage) mark.addEventListener("click", () => openScreenshot(shot));
    freeFrom = box.x + box.width + 6;
  }
}

function boxNote(parent, box, text) {
  const lines = [];
  for (const word of text.split(" ")) {
    const last = lines.length - 1;
    if (last >= 0 && lines[last].length + word.length < 16) lines[last] += ` ${word}`;
    else lines.push(word);
  }
  const note = el("text", { x: box.x + box.width / 2, y: box.y + 14, class: "shot-note" }, parent);
  lines.forEach((line, index) => {
    el("tspan", { x: box.x + box.width / 2, dy: index ? 12 : 0 }, note).textContent = line;
  });
}

function drawRunning(svg, height) {
  const entries = state.timeline.lanes.find((lane) => lane.kind === "entries");
  for (const bar of entries.bars) {
    if (!bar[4].split("\n").includes("running")) continue;
    const x = xOf(bar[1]);
    el("line", { x1: x, y1: AXIS - 4, x2: x, y2: height - MARGIN, stroke: "#d81b60", "stroke-width": 2 }, svg);
  }
}

function renderText() {
  const t = state.timeline;
  const date = new Date(`${t.day}T12:00:00Z`).toLocaleDateString("en-GB", {
    weekday: "long", day: "2-digit", month: "long", year: "numeric", timeZone: "UTC",
  });
  $("day-title").textContent = `${date} (${t.hours} h, ${t.tz})`;
  document.title = `Timeline ${t.day} — Punchclock`;
  const totals = t.totals;
  $("summary").textContent = [
    `Tracked ${totals.tracked}`, `breaks ${totals.breaks}`, `idle ${totals.idle}`,
    `${t.screenshots.length} screenshots`,
  ].join(" · ");
  for (const group of GROUPS) fillTable($(`totals-${group}`), group, totals[group]);
  document.body.dataset.day = t.day;
}

function fillTable(table, group, rows) {
  const head = { projects: "Project", tasks: "Task", apps: "App", domains: "Domain" }[group];
  table.replaceChildren();
  const header = table.createTHead().insertRow();
  for (const [text, numeric] of [[head, false], ["Time", true], ["Share of the day", true]]) {
    const cell = document.createElement("th");
    cell.textContent = text;
    if (numeric) cell.className = "num";
    header.appendChild(cell);
  }
  const body = table.createTBody();
  for (const row of rows) {
    const line = body.insertRow();
    line.dataset.key = row.key;
    line.dataset.seconds = row.seconds;
    const name = line.insertCell();
    if (group === "projects") {
      const swatch = document.createElement("span");
      swatch.className = "swatch";
      swatch.style.background = keyColour(row.key, 170, 200);
      name.appendChild(swatch);
    }
    name.appendChild(document.createTextNode(row.key));
    for (const text of [row.time, row.share_text]) {
      const cell = line.insertCell();
      cell.className = "num";
      cell.textContent = text;
    }
  }
}

async function openScreenshot(shot) {
  try {
    const path = `/v1/lead/agents/${encodeURIComponent(state.agent)}/screenshots/${shot.id}`;
    const data = await (await api(path)).arrayBuffer();
    const image = $("viewer-image");
    if (image.src.startsWith("blob:")) URL.revokeObjectURL(image.src);
    image.src = URL.createObjectURL(new Blob([data], { type: "image/jpeg" }));
    $("viewer-caption").textContent = `Screenshot ${state.timeline.day} ${shot.time} — ${shot.detail}`;
    $("viewer").hidden = false;
  } catch (error) {
    setStatus(error.message, true);
  }
}

// --- controls -------------------------------------------------------------------------------

function fillZones() {
  const select = $("zone");
  const offered = [[`My zone (${viewerZone()})`, viewerZone()], ["UTC", "UTC"]];
  if (!offered.some(([, zone]) => zone === state.tz)) offered.unshift([state.tz, state.tz]);
  for (const [label, zone] of offered) select.add(new Option(label, zone));
  select.add(new Option("Other…", ""));
  select.value = state.tz;
}

function wireControls() {
  $("sign-in").addEventListener("submit", (event) => {
    event.preventDefault();
    state.token = $("token").value.trim();
    sessionStorage.setItem("punchclock-lead-token", state.token);
    $("sign-in").hidden = true;
    loadAgents();
  });
  $("agent").addEventListener("change", () => { state.agent = $("agent").value; loadDay(); });
  $("previous").addEventListener("click", () => stepDay(-1));
  $("next").addEventListener("click", () => stepDay(1));
  $("day").addEventListener("change", () => {
    if ($("day").value) { state.day = $("day").value; loadDay(); }
  });
  $("zone").addEventListener("change", () => {
    const zone = $("zone").value;
    $("zone-other").hidden = zone !== "";
    if (zone) { state.tz = zone; loadDay(); } else $("zone-other").focus();
  });
  $("zone-other").addEventListener("change", () => {
    if ($("zone-other").value.trim()) { state.tz = $("zone-other").value.trim(); loadDay(); }
  });
  $("zoom-in").addEventListener("click", () => zoom(1.5));
  $("zoom-out").addEventListener("click", () => zoom(1 / 1.5));
  $("fit").addEventListener("click", () => { if (state.timeline) { fitDay(); render(); } });
  $("viewer-close").addEventListener("click", () => { $("viewer").hidden = true; });

  const chart = $("chart");
  chart.addEventListener("wheel", (event) => {
    event.preventDefault();
    const box = chart.getBoundingClientRect();
    if (event.shiftKey || event.deltaX) scrollBy((event.deltaX || event.deltaY) / 2);
    else zoom(Math.pow(1.25, -event.deltaY / 100), event.clientX - box.left);
  }, { passive: false });
  chart.addEventListener("mousedown", (event) => {
    state.drag = { x: event.clientX, start: state.viewStart };
  });
  window.addEventListener("mouseup", () => { state.drag = null; });
  window.addEventListener("mousemove", (event) => {
    if (!state.drag || !state.timeline) return;
    state.viewStart = state.drag.start - (event.clientX - state.drag.x) * state.msPerPx;
    clampView();
    render();
  });
  document.addEventListener("keydown", (event) => {
    if (event.target instanceof HTMLInputElement) return;
    if (event.key === "Escape") $("viewer").hidden = true;
    else if (event.altKey && event.key === "ArrowLeft") stepDay(-1);
    else if (event.altKey && event.key === "ArrowRight") stepDay(1);
    else if (event.key === "+" || event.key === "=") zoom(1.5);
    else if (event.key === "-") zoom(1 / 1.5);
    else if (event.key === "0" && state.timeline) { fitDay(); render(); }
    else if (event.key === "ArrowLeft") scrollBy(-plotWidth() / 8);
    else if (event.key === "ArrowRight") scrollBy(plotWidth() / 8);
  });
  window.addEventListener("resize", () => render());
}

start();
