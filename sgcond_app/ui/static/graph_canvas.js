// SGCond Studio's node-link scene-graph editor. Plain JavaScript, no library: Gradio runs this file's
// text as the `js_on_load` of a gr.HTML, with `element`, `trigger`, `props` and `watch` in scope.
//
// props.value is a JSON string: {objects: [{label, attributes, x, y, note, known}], relationships:
// [[s, predicate, o]], edge_status: [true|false|null], edge_notes: [string]}. The server fills in the
// notes (how the model understood each word) and the status (does the relation hold in the last
// segmentation). Every change made here sets props.value and triggers "edit"; the server answers
// with the same graph, annotated, which `watch` draws.
const W = 640, H = 320, NODE_H = 26;
const SVG = "http://www.w3.org/2000/svg";

let state = {objects: [], relationships: [], edge_status: [], edge_notes: []};
let undoStack = [], redoStack = [];
let selected = null;          // {kind: "node"|"edge", index}
let connectMode = false, connectFrom = null;
let drag = null;              // {index, dx, dy, moved, before}
let lastSent = null;
let tidying = false;
let rev = 0;                  // counts what this canvas sent; the server's answers carry it back
let pending = false;          // an answer came during a drag: drawn when the drag ends          // a layout asked of the server: its answer is not a new graph to undo

function parse(value) {
  try {
    const v = JSON.parse(value || "{}");
    return {objects: v.objects || [], relationships: v.relationships || [],
            edge_status: v.edge_status || [], edge_notes: v.edge_notes || [], rev: v.rev};
  } catch (e) {
    return {objects: [], relationships: [], edge_status: [], edge_notes: []};
  }
}

// The graph alone (what undo keeps and what the server reads): no annotations.
function graphOf(s) {
  return {objects: s.objects.map(o => ({label: o.label, attributes: o.attributes || [],
                                        x: Math.round(o.x), y: Math.round(o.y)})),
          relationships: s.relationships.map(r => [r[0], r[1], r[2]])};
}
// Two graphs are the same when their phrases, positions and edges are: the server's normalising
// ("Red Car" -> attribute red, label car) is not a change to undo.
function key(s) {
  const g = graphOf(s);
  return JSON.stringify({objects: g.objects.map(o => [phrase(o).toLowerCase().replace(/\s+/g, " "), o.x, o.y]),
                         relationships: g.relationships.map(r => [r[0], String(r[1]).toLowerCase().trim(), r[2]])});
}

function snapshot(s) { return JSON.stringify(graphOf(s)); }

function phrase(o) { return [...(o.attributes || []), o.label].join(" "); }

// A free place for a new node: the grid point nearest the middle that no node is close to.
function freeSpot(s) {
  const spots = [];
  for (let r = 0; r < 5; r++) for (let c = 0; c < 5; c++) spots.push([70 + c * 125 + (r % 2) * 40, 35 + r * 62]);
  spots.sort((a, b) => Math.hypot(a[0] - W / 2, (a[1] - H / 2) * 2) - Math.hypot(b[0] - W / 2, (b[1] - H / 2) * 2));
  const placed = s.objects.filter(o => typeof o.x === "number" && typeof o.y === "number");
  const clear = p => placed.every(o => Math.hypot((o.x - p[0]) / 140, (o.y - p[1]) / 60) >= 1);
  return spots.find(clear) || [60 + Math.random() * (W - 120), 30 + Math.random() * (H - 60)];
}

function place(s) {
  s.objects.forEach(o => {
    if (typeof o.x === "number" && typeof o.y === "number") return;
    [o.x, o.y] = freeSpot(s);
  });
}

function send() {
  const g = graphOf(state);
  lastSent = key(state);
  rev += 1;
  props.value = JSON.stringify({...g, edge_status: state.edge_status, edge_notes: state.edge_notes, rev});
  trigger("edit");
}

function commit(mutate) {
  const before = key(state), saved = snapshot(state);
  mutate();
  if (key(state) === before) { draw(); return; }
  // An edited graph has not been judged yet: its edges wait for the server's answer.
  state.edge_status = state.relationships.map(() => null);
  state.edge_notes = state.relationships.map(() => "");
  undoStack.push(saved);
  if (undoStack.length > 100) undoStack.shift();
  redoStack = [];
  draw();
  send();
}

function restore(from, to) {
  if (!from.length) { say("nothing to " + (from === undoStack ? "undo" : "redo")); return; }
  to.push(snapshot(state));
  const g = JSON.parse(from.pop());
  state = {...g, edge_status: g.relationships.map(() => null), edge_notes: g.relationships.map(() => "")};
  selected = null;
  draw();
  send();
}

function say(text, bad) {
  const m = element.querySelector(".sg-msg");
  if (m) { m.textContent = text || ""; m.classList.toggle("sg-bad", !!bad); }
}

// --- the toolbar ---------------------------------------------------------------------------------

function build() {
  element.innerHTML = `
<div class="sg-canvas">
  <div class="sg-toolbar">
    <input class="sg-label" type="text" maxlength="48" placeholder="object, e.g. red car" aria-label="object label">
    <button type="button" class="sg-add" title="Add the object (Enter)">Add object</button>
    <input class="sg-pred" type="text" maxlength="48" value="left of" aria-label="predicate">
    <button type="button" class="sg-connect" title="Then click the subject and the object, or drag from one to the other">Connect</button>
    <button type="button" class="sg-rename" title="Give the selected object or edge the text above">Rename</button>
    <button type="button" class="sg-delete" title="Delete the selected object or edge (Del)">Delete</button>
    <button type="button" class="sg-undo" title="Ctrl+Z">Undo</button>
    <button type="button" class="sg-redo" title="Ctrl+Y">Redo</button>
    <button type="button" class="sg-tidy" title="Lay the graph out afresh">Tidy</button>
    <button type="button" class="sg-clear">Clear</button>
  </div>
  <svg class="sg-svg" viewBox="0 0 ${W} ${H}" tabindex="0" role="img" aria-label="scene graph">
    <defs><marker id="sg-arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7"
      orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="context-stroke"></path></marker></defs>
    <g class="sg-edges"></g><g class="sg-nodes"></g>
  </svg>
  <div class="sg-msg" aria-live="polite"></div>
</div>`;
}

function el(name, attrs, parent) {
  const e = document.createElementNS(SVG, name);
  for (const k in attrs) e.setAttribute(k, attrs[k]);
  if (parent) parent.appendChild(e);
  return e;
}

function nodeWidth(o) { return Math.max(60, 8 * phrase(o).length + 20); }

// The point where the segment from the centre of node a towards b leaves a's box.
function border(a, b) {
  const w = nodeWidth(a) / 2, h = NODE_H / 2;
  const dx = b.x - a.x, dy = b.y - a.y;
  if (!dx && !dy) return [a.x, a.y];
  const t = Math.min(dx ? w / Math.abs(dx) : Infinity, dy ? h / Math.abs(dy) : Infinity);
  return [a.x + dx * t, a.y + dy * t];
}

function draw() {
  if (!element.querySelector(".sg-svg")) build();
  place(state);
  const edges = element.querySelector(".sg-edges"), nodes = element.querySelector(".sg-nodes");
  edges.replaceChildren();
  nodes.replaceChildren();
  state.relationships.forEach((r, k) => {
    const a = state.objects[r[0]], b = state.objects[r[2]];
    if (!a || !b) return;
    const status = state.edge_status[k];
    const cls = "sg-edge" + (status === true ? " sg-pass" : status === false ? " sg-fail" : "") +
                (selected && selected.kind === "edge" && selected.index === k ? " sg-selected" : "");
    const g = el("g", {class: cls, "data-edge": k}, edges);
    const [x1, y1] = border(a, b), [x2, y2] = border(b, a);
    el("line", {x1, y1, x2, y2, "marker-end": "url(#sg-arrow)"}, g);
    const mx = (x1 + x2) / 2, my = (y1 + y2) / 2;
    const mark = status === true ? " ✓" : status === false ? " ✗" : "";
    const text = r[1] + mark;
    el("rect", {x: mx - 4 * text.length - 6, y: my - 10, width: 8 * text.length + 12, height: 18, rx: 4,
                class: "sg-edge-label"}, g);
    const t = el("text", {x: mx, y: my + 4, "text-anchor": "middle"}, g);
    t.textContent = text;
    const note = state.edge_notes[k];
    if (note) { const n = el("text", {x: mx, y: my + 20, "text-anchor": "middle", class: "sg-note"}, g);
                n.textContent = note; }
  });
  state.objects.forEach((o, i) => {
    const w = nodeWidth(o);
    const cls = "sg-node" + (o.known === false ? " sg-unknown" : "") +
                (selected && selected.kind === "node" && selected.index === i ? " sg-selected" : "") +
                (connectFrom === i ? " sg-from" : "");
    const g = el("g", {class: cls, "data-node": i, transform: `translate(${o.x},${o.y})`}, nodes);
    el("rect", {x: -w / 2, y: -NODE_H / 2, width: w, height: NODE_H, rx: 8}, g);
    const t = el("text", {x: 0, y: 5, "text-anchor": "middle"}, g);
    t.textContent = phrase(o);
    if (o.note) { const n = el("text", {x: 0, y: NODE_H / 2 + 13, "text-anchor": "middle", class: "sg-note"}, g);
                  n.textContent = o.note; }
  });
  const c = element.querySelector(".sg-connect");
  if (c) c.classList.toggle("sg-on", connectMode);
}

// --- actions -------------------------------------------------------------------------------------

function value(cls) { return element.querySelector(cls).value.trim(); }

function addObject() {
  const text = value(".sg-label");
  if (!text) { say("type a label first, e.g. red car", true); return; }
  commit(() => {
    const [x, y] = freeSpot(state);
    state.objects.push({label: text, attributes: [], x, y});
  });
  element.querySelector(".sg-label").value = "";
  say(`added ${text}`);
}

function connect(s, o) {
  const p = value(".sg-pred");
  if (!p) { say("type a predicate first, e.g. left of", true); return; }
  if (s === o) { say("an edge needs two different objects", true); return; }
  commit(() => state.relationships.push([s, p, o]));
  say(`${phrase(state.objects[s])} ${p} ${phrase(state.objects[o])}`);
}

// The server lays out a graph that comes without positions (the layout of its drawings).
function tidy() {
  if (!state.objects.length) return;
  undoStack.push(snapshot(state));
  redoStack = [];
  const g = graphOf(state);
  g.objects.forEach(o => { delete o.x; delete o.y; });
  tidying = true;
  rev += 1;
  props.value = JSON.stringify({...g, rev});
  trigger("edit");
}

function removeSelected() {
  if (!selected) { say("select an object or an edge first", true); return; }
  const sel = selected;
  selected = null;
  commit(() => {
    if (sel.kind === "edge") { state.relationships.splice(sel.index, 1); return; }
    state.objects.splice(sel.index, 1);
    state.relationships = state.relationships.filter(r => r[0] !== sel.index && r[2] !== sel.index)
      .map(r => [r[0] > sel.index ? r[0] - 1 : r[0], r[1], r[2] > sel.index ? r[2] - 1 : r[2]]);
  });
}

function rename() {
  if (!selected) { say("select an object or an edge first", true); return; }
  const sel = selected;
  if (sel.kind === "node") {
    const text = value(".sg-label");
    if (!text) { say("type the new label in the object box", true); return; }
    commit(() => { state.objects[sel.index].label = text; state.objects[sel.index].attributes = []; });
  } else {
    const text = value(".sg-pred");
    if (!text) { say("type the new predicate in the predicate box", true); return; }
    commit(() => { state.relationships[sel.index][1] = text; });
  }
}

function svgPoint(ev) {
  const svg = element.querySelector(".sg-svg");
  const p = svg.createSVGPoint();
  p.x = ev.clientX; p.y = ev.clientY;
  return p.matrixTransform(svg.getScreenCTM().inverse());
}

element.addEventListener("click", ev => {
  const b = ev.target.closest("button");
  if (!b || !element.contains(b)) return;
  if (b.classList.contains("sg-add")) addObject();
  else if (b.classList.contains("sg-connect")) {
    connectMode = !connectMode; connectFrom = null;
    say(connectMode ? "click the subject, then the object (or drag from one to the other)" : "");
    draw();
  }
  else if (b.classList.contains("sg-rename")) rename();
  else if (b.classList.contains("sg-delete")) removeSelected();
  else if (b.classList.contains("sg-undo")) restore(undoStack, redoStack);
  else if (b.classList.contains("sg-redo")) restore(redoStack, undoStack);
  else if (b.classList.contains("sg-tidy")) tidy();
  else if (b.classList.contains("sg-clear")) { selected = null; commit(() => { state.objects = []; state.relationships = []; }); }
});

element.addEventListener("keydown", ev => {
  if (ev.target.classList && ev.target.classList.contains("sg-label") && ev.key === "Enter") {
    ev.preventDefault(); addObject(); return;
  }
  if (ev.target.tagName === "INPUT") return;
  if (ev.key === "Delete" || ev.key === "Backspace") { ev.preventDefault(); removeSelected(); }
  else if ((ev.ctrlKey || ev.metaKey) && ev.key === "z") { ev.preventDefault(); restore(undoStack, redoStack); }
  else if ((ev.ctrlKey || ev.metaKey) && ev.key === "y") { ev.preventDefault(); restore(redoStack, undoStack); }
  else if (ev.key === "Escape") { connectMode = false; connectFrom = null; selected = null; say(""); draw(); }
});

element.addEventListener("pointerdown", ev => {
  const svg = element.querySelector(".sg-svg");
  if (!svg || !svg.contains(ev.target)) return;
  svg.focus();
  const node = ev.target.closest("[data-node]"), edge = ev.target.closest("[data-edge]");
  if (node) {
    const i = +node.dataset.node;
    if (connectMode) {
      if (connectFrom === null) { connectFrom = i; say(`${phrase(state.objects[i])} → click the object`); draw(); }
      else { const s = connectFrom; connectFrom = null; connect(s, i); }
      return;
    }
    const p = svgPoint(ev), o = state.objects[i];
    drag = {index: i, dx: o.x - p.x, dy: o.y - p.y, moved: false, before: snapshot(state)};
    selected = {kind: "node", index: i};
    element.querySelector(".sg-label").value = phrase(o);
    svg.setPointerCapture(ev.pointerId);
    draw();
  } else if (edge) {
    const k = +edge.dataset.edge;
    selected = {kind: "edge", index: k};
    element.querySelector(".sg-pred").value = state.relationships[k][1];
    draw();
  } else {
    selected = null; connectFrom = null;
    draw();
  }
});

element.addEventListener("pointermove", ev => {
  if (connectMode && connectFrom !== null && ev.buttons) {
    // Connecting by dragging: a rubber band from the subject to the pointer.
    const svg = element.querySelector(".sg-svg"), o = state.objects[connectFrom], p = svgPoint(ev);
    let band = svg.querySelector(".sg-band");
    if (!band) band = el("line", {class: "sg-band"}, svg);
    band.setAttribute("x1", o.x); band.setAttribute("y1", o.y);
    band.setAttribute("x2", p.x); band.setAttribute("y2", p.y);
    return;
  }
  if (!drag) return;
  const p = svgPoint(ev), o = state.objects[drag.index];
  const x = Math.max(30, Math.min(W - 30, p.x + drag.dx)), y = Math.max(15, Math.min(H - 25, p.y + drag.dy));
  if (Math.abs(x - o.x) + Math.abs(y - o.y) > 0.5) { drag.moved = true; o.x = x; o.y = y; draw(); }
});

function endDrag() {
  if (!drag) return;
  const d = drag;
  drag = null;
  if (!d.moved) {
    if (pending) { pending = false; fromServer(); }
    return;
  }
  pending = false;  // the move is sent now; the answer to it follows
  // The move is already drawn: record it for undo and tell the server (positions are part of the graph).
  undoStack.push(d.before);
  redoStack = [];
  send();
}
element.addEventListener("pointerup", ev => {
  const band = element.querySelector(".sg-band");
  if (band) {
    band.remove();
    const node = ev.target.closest && ev.target.closest("[data-node]");
    if (connectMode && connectFrom !== null && node && +node.dataset.node !== connectFrom) {
      const s = connectFrom;
      connectFrom = null;
      connect(s, +node.dataset.node);
    }
  }
  endDrag();
});
element.addEventListener("pointercancel", endDrag);

// --- from the server ---------------------------------------------------------------------------------

function fromServer() {
  const incoming = parse(props.value);
  // An answer to an edit older than the last one sent: a newer answer is on its way.
  if (typeof incoming.rev === "number" && incoming.rev < rev) return;
  if (drag) { pending = true; return; }
  const k = key(incoming);
  if (!tidying && k !== key(state) && k !== lastSent && (state.objects.length || state.relationships.length)) {
    // A new graph from the text, the table or an example: the canvas's undo can go back to it.
    undoStack.push(snapshot(state));
    redoStack = [];
    selected = null;
  }
  state = incoming;
  tidying = false;
  lastSent = key(state);
  draw();
}

build();
fromServer();
watch("value", fromServer);
