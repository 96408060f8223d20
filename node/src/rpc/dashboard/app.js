// Cairn's dashboard: draws the node's state from /dashboard/events (server-sent events), or by
// polling /dashboard/state every 2 s where events are not available. Everything a peer can name
// (file names, addresses, agents) goes into the page as text, never as markup.
"use strict";

const SVG = "http://www.w3.org/2000/svg";
let state = null;
let lookup = null; // { result, shown } while a lookup is drawn

function el(tag, attrs, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, v);
  for (const c of children) e.append(c instanceof Node ? c : document.createTextNode(String(c)));
  return e;
}
function svg(tag, attrs, text) {
  const e = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, v);
  if (text !== undefined) e.textContent = text;
  return e;
}
function text(id, value) { document.getElementById(id).textContent = value; }
function short(hash) { return hash ? hash.slice(0, 8) + "…" + hash.slice(-6) : "–"; }
function bytes(n) {
  if (n == null) return "–";
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) { n /= 1024; i++; }
  return (i === 0 ? n : n.toFixed(1)) + " " + units[i];
}
function rate(n) { return bytes(n) + "/s"; }
function age(t) {
  const s = Math.max(0, Math.round(Date.now() / 1000 - t));
  return s < 60 ? s + " s" : s < 3600 ? Math.round(s / 60) + " min" : Math.round(s / 3600) + " h";
}
function hashrate(h) {
  if (!(h > 0)) return "–";
  const units = ["H/s", "kH/s", "MH/s", "GH/s", "TH/s"];
  let i = 0;
  while (h >= 1000 && i < units.length - 1) { h /= 1000; i++; }
  return h.toFixed(1) + " " + units[i];
}
function rows(tbody, list, cells) {
  tbody.replaceChildren(...list.map((item) => el("tr", {}, ...cells(item).map((c) => el("td", { title: String(c) }, c)))));
}

function drawChain(s) {
  const chain = s.chain || {};
  text("network", s.network || "?");
  text("height", chain.blocks ?? "–");
  text("tip", short(chain.bestblockhash));
  document.getElementById("tip").title = chain.bestblockhash || "";
  text("hashps", hashrate(s.hashps));
  rows(document.querySelector("#blocks tbody"), s.blocks || [], (b) => [
    b.height, age(b.time), bytes(b.size), b.txs, (b.totalfee / 1e8).toFixed(8),
  ]);
  const mempool = s.mempool || { size: 0, histogram: [] };
  text("mempool-count", mempool.size + " tx");
  const h = document.getElementById("histogram");
  const buckets = mempool.histogram || [];
  const max = Math.max(1, ...buckets.map((b) => b.count));
  const w = 360 / Math.max(1, buckets.length);
  h.replaceChildren(...buckets.flatMap((b, i) => {
    const height = Math.round((b.count / max) * 90);
    const bar = svg("rect", { x: i * w + 2, y: 100 - height, width: w - 4, height, fill: "#4fb3ff", "data-count": b.count });
    bar.append(svg("title", {}, `${b.from}${b.upto ? "–" + b.upto : "+"} sat/vB: ${b.count} tx, ${bytes(b.bytes)}`));
    return [bar, svg("text", { x: i * w + w / 2, y: 114, "text-anchor": "middle", fill: "#7d8996", "font-size": 8 }, b.upto ? "<" + b.upto : b.from + "+")];
  }));
  // Tips: the active chain as a line, each fork as a branch leaving it at its height.
  const tips = s.tips || [];
  const top = Math.max(1, ...tips.map((t) => t.height));
  const low = Math.max(0, Math.min(top, ...tips.map((t) => t.height - t.branchlen)) - 2);
  const x = (height) => 10 + ((height - low) / Math.max(1, top - low)) * 340;
  const f = document.getElementById("forks");
  const parts = [svg("line", { x1: 10, y1: 20, x2: x(top), y2: 20, stroke: "#3fc27a", "stroke-width": 3 })];
  tips.filter((t) => t.status !== "active").slice(0, 6).forEach((t, i) => {
    const y = 38 + i * 9;
    const from = t.height - t.branchlen;
    const color = t.status === "invalid" ? "#e5534b" : "#f0b429";
    parts.push(svg("path", { d: `M${x(from)},20 L${x(from + 0.5)},${y} L${x(t.height)},${y}`, stroke: color, fill: "none", "stroke-width": 2 }));
  });
  parts.push(svg("text", { x: x(top), y: 12, "text-anchor": "end", fill: "#7d8996", "font-size": 9 }, "tip " + top));
  f.replaceChildren(...parts);
  document.getElementById("tips").replaceChildren(...tips.map((t) =>
    el("li", {}, `${t.status} at ${t.height} (branch ${t.branchlen}) `, el("span", { class: "hash" }, short(t.hash)))));
}

function drawPeers(s) {
  const peers = s.peers || [];
  text("peer-count", peers.length);
  rows(document.querySelector("#peers tbody"), peers, (p) => [
    p.id, p.inbound ? "in" : "out", p.addr, p.pingtime != null ? Math.round(p.pingtime * 1000) + " ms" : "–",
    bytes(p.bytessent), bytes(p.bytesrecv), p.synced_blocks,
  ]);
  const bans = s.bans || [];
  document.getElementById("bans").replaceChildren(...(bans.length ? bans.map((b) =>
    el("li", {}, `${b.address} — ${Math.round(b.time_remaining / 60)} min left`)) : [el("li", { class: "muted" }, "none")]));
}

// A ring id (64 hex digits) as an angle: its first 32 bits of the 2^256 circle, 0 at the top.
function angle(id) { return (parseInt(id.slice(0, 8), 16) / 4294967296) * 2 * Math.PI - Math.PI / 2; }
function point(id, r) { const a = angle(id); return [Math.cos(a) * r, Math.sin(a) * r]; }

function drawRing(s) {
  const ring = s.ring;
  const r = document.getElementById("ring");
  if (!ring) {
    r.replaceChildren(svg("text", { x: 0, y: 0, "text-anchor": "middle", fill: "#7d8996", "font-size": 10 }, "the content index is not running"));
    text("ring-facts", "");
    return;
  }
  const R = 95;
  const parts = [svg("circle", { cx: 0, cy: 0, r: R, fill: "none", stroke: "#33404c", "stroke-width": 2 })];
  const [mx, my] = point(ring.id, R);
  const fingers = new Map();
  for (const f of ring.fingers || []) if (f.node && f.node.id !== ring.id) fingers.set(f.node.id, f.node);
  for (const n of fingers.values()) {
    const [x, y] = point(n.id, R);
    parts.push(svg("line", { x1: mx, y1: my, x2: x, y2: y, stroke: "#4fb3ff", "stroke-opacity": 0.35 }));
  }
  const dot = (n, color, label, size) => {
    const [x, y] = point(n.id, R);
    const c = svg("circle", { cx: x, cy: y, r: size, fill: color, class: "ring-node", "data-id": n.id });
    c.append(svg("title", {}, `${label} ${n.id.slice(0, 16)}… ${n.peer || ""}`));
    parts.push(c);
  };
  for (const n of fingers.values()) dot(n, "#4fb3ff", "finger", 3);
  (ring.successors || []).forEach((n, i) => dot(n, "#3fc27a", "successor " + (i + 1), 4));
  if (ring.predecessor) dot(ring.predecessor, "#f0b429", "predecessor", 4);
  dot({ id: ring.id, peer: ring.peer }, "#ffffff", "this node", 6);
  if (lookup) {
    const hops = [{ id: ring.id }, ...lookup.result.path, lookup.result.node];
    const [kx, ky] = point(lookup.result.key, R + 10);
    parts.push(svg("text", { x: kx, y: ky, "text-anchor": "middle", fill: "#e5534b", "font-size": 9 }, "key"));
    for (let i = 1; i <= Math.min(lookup.shown, hops.length - 1); i++) {
      const [x1, y1] = point(hops[i - 1].id, R);
      const [x2, y2] = point(hops[i].id, R);
      parts.push(svg("line", { x1, y1, x2, y2, stroke: "#e5534b", "stroke-width": 2, class: "hop" }));
    }
  }
  r.replaceChildren(...parts);
  text("ring-facts", `id ${ring.id.slice(0, 12)}… · ${(ring.successors || []).length} successors · ${fingers.size} distinct fingers · ${ring.keys_stored} keys, ${ring.records} records`);
}

function drawFiles(s) {
  const files = s.files || [];
  const box = document.getElementById("files");
  if (!files.length) { box.replaceChildren(el("p", { class: "muted" }, "No shared files.")); return; }
  box.replaceChildren(...files.map((f) => {
    const map = el("div", { class: "piecemap", "data-cid": f.cid, "data-have": f.pieces_have, "data-total": f.pieces_total });
    for (const c of f.piecemap || "") map.append(el("i", { class: c }));
    const heat = el("div", { class: "heatmap" });
    const avail = f.availability || [];
    const most = Math.max(1, ...avail);
    for (const a of avail) heat.append(el("i", { style: `background: rgba(79,179,255,${(0.15 + 0.85 * a / most).toFixed(2)})`, title: a + " peers" }));
    const per = f.pieces_per_cell > 1 ? ` (${f.pieces_per_cell} pieces per square)` : "";
    const members = el("table", {}, el("thead", {}, el("tr", {}, ...["Peer", "Down", "Up", "We unchoke", "Unchokes us", "Interested", "Pieces"].map((h) => el("th", {}, h)))), el("tbody"));
    rows(members.querySelector("tbody"), f.members || [], (m) => [
      m.peer.slice(-10), rate(m.download_rate), rate(m.upload_rate), m.unchoked ? "yes" : "no",
      m.unchokes_us == null ? "–" : m.unchokes_us ? "yes" : "no", m.interested ? "yes" : "no", m.pieces ?? "–",
    ]);
    return el("div", { class: "file" },
      el("strong", {}, f.name || f.cid.slice(0, 16) + "…"), ` ${f.state} · ${f.pieces_have}/${f.pieces_total} pieces · ↓ ${rate(f.download_rate)} ↑ ${rate(f.upload_rate)} · ${f.peers} peers`,
      el("h3", {}, "Pieces" + per + " ", el("span", { class: "legend muted" }, el("i", { style: "background:#3fc27a" }), "have", el("i", { style: "background:#f0b429" }), "downloading", el("i", { style: "background:#33404c" }), "missing")),
      map,
      ...(avail.length ? [el("h3", {}, "Availability across peers"), heat] : []),
      members);
  }));
}

function draw(s) {
  state = s;
  drawChain(s);
  drawPeers(s);
  drawRing(s);
  drawFiles(s);
  text("version", "Cairn " + (s.version || ""));
  text("updated", new Date().toLocaleTimeString());
}

function poll() {
  fetch("/dashboard/state", { credentials: "same-origin" })
    .then((r) => r.json()).then(draw).catch(() => {})
    .finally(() => setTimeout(poll, 2000));
}

function live() {
  if (!window.EventSource) { text("live", "polling"); poll(); return; }
  const source = new EventSource("/dashboard/events");
  let opened = false;
  source.addEventListener("state", (e) => { opened = true; draw(JSON.parse(e.data)); });
  source.onopen = () => { const l = document.getElementById("live"); l.textContent = "live"; l.className = "on"; };
  source.onerror = () => {
    const l = document.getElementById("live");
    l.className = "off";
    if (!opened) { source.close(); l.textContent = "polling"; poll(); } else { l.textContent = "reconnecting"; }
  };
}

document.getElementById("lookup-form").addEventListener("submit", (e) => {
  e.preventDefault();
  const key = document.getElementById("lookup-key").value.trim();
  const list = document.getElementById("lookup-hops");
  if (!key) return;
  fetch("/dashboard/lookup?key=" + encodeURIComponent(key), { credentials: "same-origin" })
    .then(async (r) => { if (!r.ok) throw new Error(await r.text()); return r.json(); })
    .then((result) => {
      lookup = { result, shown: 0 };
      list.replaceChildren();
      const hops = [...result.path, result.node];
      const step = () => {
        if (!lookup || lookup.result !== result || lookup.shown >= hops.length) return;
        const n = hops[lookup.shown];
        lookup.shown += 1;
        list.append(el("li", {}, (lookup.shown === hops.length ? "responsible: " : "asked: ") + n.id.slice(0, 16) + "… " + (n.peer || "")));
        if (state) drawRing(state);
        setTimeout(step, 500);
      };
      step();
    })
    .catch((err) => list.replaceChildren(el("li", { class: "muted" }, String(err.message || err))));
});

live();
