// nstrace report, part 2 of 5: the layout. Rows, lanes, marks, links, the
// axis and the overview, drawn for the view v0..v1 (see data.js for the
// shared scope).

// ---- layout ----
var GROUP_H = 22, LANE_H = 22, AX_H = 30, OV_H = 34, GAP = 12, MAXW = 60, LINK_MAX = 250;
var box = document.getElementById('timeline');
var W = 0, LABEL_W = 0, PW = 0;
var span = M.span, padT = Math.max(span * 0.02, 2e5);
var full0 = -padT, full1 = span + padT;
var v0 = full0, v1 = full1;
var sel = -1;
var collapsed = {};
var rows = [], laneRow = new Int32Array(nL), totalH = 0;

// With thousands of namespaces, the rows worth seeing at a zoom are those
// with marks in view: activeOnly keeps just those (and the host's, and
// the special lanes), recomputed as the view moves.
var activeOnly = nL > 300;
// Each lane's first and last mark, and whether it is always shown, so
// that most lanes are told in or out of view without a search.
var laneFirst = new Float64Array(nL), laneLast = new Float64Array(nL), alwaysShown = new Uint8Array(nL);
for (var lf = 0; lf < nL; lf++) {
  var lfS = laneStart[lf], lfE = laneStart[lf + 1];
  laneFirst[lf] = lfS < lfE ? MT[lfS] : Infinity;
  laneLast[lf] = lfS < lfE ? MT[lfE - 1] : -Infinity;
  alwaysShown[lf] = L[lf].k !== 'ns' || L[lf].host ? 1 : 0;
}
function activeInView(lane) {
  if (alwaysShown[lane]) return true;
  var a = laneFirst[lane], b = laneLast[lane];
  if (b < v0 || a > v1) return false;
  if (a >= v0 || b <= v1) return true;
  var s = laneStart[lane], e = laneStart[lane + 1], i = lowerBound(MT, s, e, v0);
  return i < e && MT[i] <= v1;
}
// Rows are laid out again at every step of a zoom or pan with thousands
// of lanes: their objects are kept and reused rather than made anew.
var rowPool = [];
function rowAt(n, g, lane, y, h) {
  var r = rowPool[n] || (rowPool[n] = {});
  r.g = g; r.lane = lane; r.y = y; r.h = h; r.shown = 0; r.odd = 0;
  return r;
}
function layoutRows() {
  rows = [];
  laneRow.fill(-1);
  var y = 0;
  M.groups.forEach(function (g, gi) {
    var head = rowAt(rows.length, gi, -1, y, GROUP_H);
    rows.push(head);
    y += GROUP_H;
    if (collapsed[g.name]) return;
    var lanes = g.lanes;
    for (var k = 0; k < lanes.length; k++) {
      var lane = lanes[k];
      if (searchHit && !searchHit[lane]) continue;
      if (activeOnly && !activeInView(lane)) continue;
      laneRow[lane] = rows.length;
      var r = rowAt(rows.length, gi, lane, y, LANE_H);
      r.odd = head.shown & 1;
      rows.push(r);
      head.shown++;
      y += LANE_H;
    }
  });
  totalH = Math.max(y, 1);
}

var ovWrap = el('div', 'overview-wrap', null, box);
var ovSvg = svg('svg', { class: 'overview', height: OV_H }, ovWrap);
var axWrap = el('div', 'axis-wrap', null, box);
var axSvg = svg('svg', { class: 'axis', height: AX_H }, axWrap);
var scroll = el('div', 'lanes-scroll', null, box);
var laneSvg = svg('svg', { class: 'lanes', 'data-lanes': nL, 'data-events': nE, 'data-marks': nM }, scroll);
var defs = svg('defs', {}, laneSvg);
var clipLabel = svg('rect', { x: 0, y: 0, height: LANE_H }, svg('clipPath', { id: 'clip-label' }, defs));
var clipLane = svg('rect', { y: 0, height: LANE_H }, svg('clipPath', { id: 'clip-lane' }, defs));
var clipPlot = svg('rect', { y: 0 }, svg('clipPath', { id: 'clip-plot' }, defs));
var gBg = svg('g', { class: 'bg' }, laneSvg);
var gGrid = svg('g', { class: 'grid-lines', 'clip-path': 'url(#clip-plot)' }, laneSvg);
var gLinks = svg('g', { class: 'links', 'clip-path': 'url(#clip-plot)' }, laneSvg);
var gRows = svg('g', { class: 'rows' }, laneSvg);
var gSel = svg('g', { class: 'selection', 'clip-path': 'url(#clip-plot)' }, laneSvg);
var tooltip = document.getElementById('tooltip');
var spanEl = document.getElementById('view-span');

function measure() {
  W = Math.max(box.clientWidth, 400);
  LABEL_W = Math.round(Math.min(340, Math.max(200, W * 0.26)));
  PW = W - LABEL_W - 10;
  [ovSvg, axSvg, laneSvg].forEach(function (s) { s.setAttribute('width', W); });
  clipLabel.setAttribute('width', LABEL_W - 8);
  clipLane.setAttribute('x', LABEL_W);
  clipLane.setAttribute('width', PW + 10);
  clipPlot.setAttribute('x', LABEL_W);
  clipPlot.setAttribute('width', PW + 10);
}
function X(t) { return LABEL_W + (t - v0) * PW / (v1 - v0); }
function T(x) { return v0 + (x - LABEL_W) * (v1 - v0) / PW; }
function rowCenter(lane) { var r = laneRow[lane]; return r < 0 ? -1 : rows[r].y + LANE_H / 2; }

// ---- drawing the lanes: only the rows in sight, marks clustered ----
var clusters = [], links = [];

function renderLanes() {
  laneSvg.setAttribute('height', totalH);
  clipPlot.setAttribute('height', totalH);
  gBg.replaceChildren(); gGrid.replaceChildren(); gRows.replaceChildren();
  gLinks.replaceChildren(); gSel.replaceChildren();
  clusters = []; links = [];
  var top = scroll.scrollTop - 200, bottom = scroll.scrollTop + (scroll.clientHeight || 600) + 200;
  var lo = 0, hi = rows.length;
  while (lo < hi) { var mid = (lo + hi) >>> 1; if (rows[mid].y + rows[mid].h < top) lo = mid + 1; else hi = mid; }
  drawGrid();
  for (var i = lo; i < rows.length && rows[i].y <= bottom; i++) {
    if (rows[i].lane < 0) drawGroup(rows[i]); else drawLane(rows[i]);
  }
  drawLinks(scroll.scrollTop, scroll.scrollTop + (scroll.clientHeight || 600));
  drawSelection();
}

function drawGrid() {
  var step = niceStep((v1 - v0) / Math.max(2, PW / 110));
  for (var t = Math.ceil(v0 / step) * step; t <= v1; t += step) {
    var x = X(t);
    svg('line', { class: 'grid', x1: x, x2: x, y1: 0, y2: totalH }, gGrid);
  }
}

function drawGroup(row) {
  var g = M.groups[row.g];
  var n = svg('g', { class: 'group-head', 'data-group': g.name, transform: 'translate(0,' + row.y + ')' }, gRows);
  svg('rect', { width: W, height: GROUP_H }, n);
  var t = svg('text', { x: 8, y: 15 }, n);
  t.textContent = (collapsed[g.name] ? '▸ ' : '▾ ') + (g.title || GROUP_TITLE[g.name] || g.name);
  var c = svg('tspan', { class: 'group-n' }, t);
  c.textContent = '   ' + num(g.lanes.length) + (g.name === 'attention' ? ' lane' : ' namespace') + (g.lanes.length === 1 ? '' : 's') +
    (collapsed[g.name] ? ' (folded)' : activeOnly && row.shown < g.lanes.length ? ', ' + num(row.shown) + ' with marks in view' : '');
}

function drawLane(row) {
  var lane = row.lane, l = L[lane];
  svg('rect', { class: 'row-bg' + (row.odd ? ' odd' : ''), x: 0, y: row.y, width: W, height: LANE_H }, gBg);
  var g = svg('g', {
    class: 'lane', 'data-lane': lane, 'data-kind': l.k, 'data-type': l.type || '', 'data-inode': l.ino || '',
    'data-label': l.label, 'data-marks': l.n, transform: 'translate(0,' + row.y + ')'
  }, gRows);
  var cls = 'lane-label' + (l.host ? ' host' : '') + (l.k !== 'ns' ? ' special' : '');
  var label = svg('text', { class: cls, x: 18, y: 15, 'clip-path': 'url(#clip-label)' }, g);
  var ino = l.k === 'ns' ? String(l.ino) : '';
  var room = Math.floor((LABEL_W - 34 - ino.length * 7) / 6.6);
  // Grouped other than by type, a lane says its type.
  var text = (M.groups !== groupsByType && l.k === 'ns' ? l.type + ' ' : '') + l.label;
  label.textContent = text.length > room ? text.slice(0, Math.max(room - 1, 1)) + '…' : text;
  if (ino) {
    var it = svg('text', { class: 'lane-ino', x: LABEL_W - 8, y: 15, 'text-anchor': 'end' }, g);
    it.textContent = ino;
  }
  svg('line', { class: 'label-sep', x1: LABEL_W - 2, x2: LABEL_W - 2, y1: 0, y2: LANE_H }, g);
  var mg = svg('g', { 'clip-path': 'url(#clip-lane)' }, g);
  if (l.k === 'ns') drawLife(mg, lane);
  drawMarks(mg, lane);
}

// A lifeline runs from creation to destruction. Without a destroy event
// (or a reuse of its inode) a namespace is known alive only up to its last
// mark: past that it is drawn as unknown, not as alive. The host's
// namespaces never end.
function drawLife(g, lane) {
  var l = L[lane], a = l.created !== undefined ? l.created : full0, b = full1, unknown = false;
  if (l.gone !== undefined) b = l.gone;
  else if (!l.host) {
    b = lastSign(lane);
    unknown = true;
  }
  lifeSegment(g, 'life' + (l.created === undefined ? ' pre' : ''), a, b);
  if (unknown) lifeSegment(g, 'life unknown', b, l.reused !== undefined ? l.reused : full1);
}
function lastSign(lane) {
  var e = laneStart[lane + 1], l = L[lane];
  var t = e > laneStart[lane] ? MT[e - 1] : l.created !== undefined ? l.created : full0;
  return l.reused !== undefined ? Math.min(t, l.reused) : t;
}
function lifeSegment(g, cls, a, b) {
  var xa = Math.max(LABEL_W, X(a)), xb = Math.min(W, X(b));
  if (xb > xa) svg('line', { class: cls, x1: xa, x2: xb, y1: LANE_H / 2, y2: LANE_H / 2 }, g);
}

function drawMarks(g, lane) {
  var s = laneStart[lane], e = laneStart[lane + 1];
  if (s === e) return;
  var scale = PW / (v1 - v0), slack = 8 / scale, cy = LANE_H / 2;
  var i = lowerBound(MT, s, e, v0 - slack), end = lowerBound(MT, s, e, v1 + slack);
  var prevEnd = -Infinity;
  while (i < end) {
    var x0 = X(MT[i]), xl = x0, j = i + 1;
    while (j < end) {
      var xj = X(MT[j]);
      if (xj - xl >= GAP || xj - x0 > MAXW) break;
      xl = xj;
      j++;
    }
    if (j - i === 1 && !isBand(i)) {
      drawMark(g, i, x0, cy, lane);
      prevEnd = x0 + 6;
    } else {
      prevEnd = drawCluster(g, lane, i, j, Math.max(x0 - 6, prevEnd + 1), xl + 6, cy);
    }
    i = j;
  }
}

function drawMark(g, k, x, cy, lane) {
  var c = MCls[k], ev = MEv[k];
  var a = { class: 'mark ' + CLS_NAME[c], 'data-m': k, 'data-lane': lane, 'data-n': 1 };
  if (ev >= 0 && evAlerts[ev] && c !== C_ALERT) svg('circle', { class: 'alert-ring', cx: x, cy: cy, r: 8.5 }, g);
  switch (c) {
    case C_CREATE: a.cx = x; a.cy = cy; a.r = 5.5; svg('circle', a, g); break;
    case C_JOIN: a.d = 'M' + x + ',' + (cy - 6) + 'l6,6l-6,6l-6,-6z'; svg('path', a, g); break;
    case C_DESTROY: a.x = x - 2; a.y = cy - 7; a.width = 4; a.height = 14; svg('rect', a, g); break;
    case C_FAILED:
      svg('circle', { class: 'm-failed-hit', cx: x, cy: cy, r: 7, 'data-m': k }, g);
      a.d = 'M' + (x - 5) + ',' + (cy - 5) + 'l10,10m0,-10l-10,10'; svg('path', a, g); break;
    case C_LOST: a.x = x - 5; a.y = cy - 5; a.width = 10; a.height = 10; svg('rect', a, g); break;
    case C_ALERT:
      a.d = 'M' + x + ',' + (cy - 7) + 'l7,12h-14z';
      a.class += ' sev-' + severityClass(M.alerts[MAux[k]].severity);
      svg('path', a, g);
      break;
  }
  if (ev >= 0 && ev === sel) svg('circle', { class: 'sel-ring', cx: x, cy: cy, r: 9 }, g);
  if (c === C_JOIN && MAux[k] >= 0) {
    var from = E[ev][F_CH][MAux[k] * CH_W + CH_FROM_LANE];
    if (from >= 0) links.push([x, lane, from, ev]);
  }
}

// A cluster takes the colour of an alert or a failure among its marks,
// so they never hide; otherwise that of the most of them.
function drawCluster(g, lane, i, j, xa, xb, cy) {
  var n = 0, counts = [0, 0, 0, 0, 0, 0], mix = [], top = C_LOST;
  for (var k = i; k < j; k++) { counts[MCls[k]] += MW[k]; n += MW[k]; }
  for (k = 5; k >= 0; k--) if (counts[k]) mix.push(CLS_WORD[k] + ':' + counts[k]);
  if (counts[C_ALERT]) top = C_ALERT;
  else if (counts[C_FAILED]) top = C_FAILED;
  else [C_CREATE, C_DESTROY, C_JOIN].forEach(function (c) { if (counts[c] > counts[top]) top = c; });
  svg('rect', {
    class: 'mark cluster c-' + top, x: xa, y: cy - 7, width: Math.max(xb - xa, 4), height: 14, rx: 4,
    'data-k': clusters.length, 'data-lane': lane, 'data-n': n, 'data-mix': mix.join(',')
  }, g);
  clusters.push([lane, i, j]);
  var label = n > 9999 ? Math.round(n / 1000) + 'k' : String(n);
  if (xb - xa >= label.length * 6 + 4) {
    var t = svg('text', { class: 'cluster-n', x: (xa + xb) / 2, y: cy + 3.5 }, g);
    t.textContent = label;
  }
  for (k = i; k < j; k++) {
    if (MEv[k] === sel && sel >= 0) { svg('circle', { class: 'sel-ring', cx: X(MT[k]), cy: cy, r: 9 }, g); break; }
  }
  return xb;
}

// A join links the lane a process left to the one it entered: drawn
// when few enough are in sight to follow, and always for the selection.
function drawLinks(top, bottom) {
  var many = links.length > LINK_MAX;
  links.forEach(function (k) {
    var y1 = rowCenter(k[2]), y2 = rowCenter(k[1]);
    var inSight = y1 >= top && y1 <= bottom && y2 >= top && y2 <= bottom;
    if (k[3] === sel || (!many && inSight)) drawLink(k[0], k[2], k[1], k[3] === sel);
  });
}
function drawLink(x, fromLane, toLane, selected) {
  var y1 = rowCenter(fromLane), y2 = rowCenter(toLane);
  if (y1 < 0 || y2 < 0) return;
  var bulge = Math.min(40, 8 + Math.abs(y2 - y1) * 0.08);
  svg('path', {
    class: 'link' + (selected ? ' sel' : ''),
    d: 'M' + x + ',' + y1 + 'C' + (x + bulge) + ',' + y1 + ' ' + (x + bulge) + ',' + y2 + ' ' + x + ',' + (y2 + (y2 > y1 ? -6 : 6))
  }, gLinks);
  svg('circle', { class: 'link-from', cx: x, cy: y1, r: 3 }, gLinks);
}

function drawSelection() {
  if (sel < 0) return;
  var r = E[sel], x = X(r[F_T]);
  svg('line', { class: 'sel-line', x1: x, x2: x, y1: 0, y2: totalH }, gSel);
  var drawn = {};
  links.forEach(function (k) { if (k[3] === sel) drawn[k[1]] = 1; });
  var ch = r[F_CH];
  for (var o = 0; o < ch.length && !r[F_ERR]; o += CH_W) {
    if (ch[o + CH_FROM_LANE] >= 0 && !drawn[ch[o + CH_LANE]]) drawLink(x, ch[o + CH_FROM_LANE], ch[o + CH_LANE], true);
  }
}

// ---- the axis and the overview ----
function renderAxis() {
  axSvg.replaceChildren();
  var label = svg('text', { class: 'axis-label', x: 8, y: 19 }, axSvg);
  label.textContent = 'UTC ' + M.start_day;
  var step = niceStep((v1 - v0) / Math.max(2, PW / 110));
  var digits = step >= 1e9 ? 0 : Math.min(9, Math.ceil(9 - Math.log10(step) - 1e-9));
  var first = true;
  for (var t = Math.ceil(v0 / step) * step; t <= v1; t += step) {
    var x = X(t);
    if (x < LABEL_W || x > W) continue;
    svg('line', { class: 'axis-tick', x1: x, x2: x, y1: AX_H - 8, y2: AX_H }, axSvg);
    var s = clock(t, digits);
    if (!first && digits > 3) s = s.slice(6);
    var txt = svg('text', { class: 'axis-label' + (first ? ' major' : ''), x: x, y: 18, 'text-anchor': 'middle' }, axSvg);
    txt.textContent = s;
    first = false;
  }
  svg('rect', { class: 'axis-hit', x: LABEL_W, y: 0, width: PW + 10, height: AX_H }, axSvg);
  if (brush && brush.svg === axSvg) drawBrush();
}

var ovBars = null, ovWindow = null;
function renderOverview() {
  ovSvg.replaceChildren();
  var t = svg('text', { class: 'ov-label', x: 8, y: 21 }, ovSvg);
  t.textContent = 'whole session: ' + num(nEv) + ' events, ' + duration(span);
  var bins = Math.max(1, Math.floor(PW / 2)), all = new Float64Array(bins), bad = new Float64Array(bins);
  var k = bins / (full1 - full0);
  for (var i = 0; i < nE; i++) {
    var b = Math.min(bins - 1, Math.max(0, Math.floor((E[i][F_T] - full0) * k)));
    all[b]++;
    if (E[i][F_ERR] || E[i][F_KIND] === KIND_LOST) bad[b]++;
  }
  var max = 1;
  for (b = 0; b < bins; b++) if (all[b] > max) max = all[b];
  var h = OV_H - 6;
  function bars(counts) {
    var d = [];
    for (var b = 0; b < bins; b++) {
      if (!counts[b]) continue;
      var bh = Math.max(1.5, h * Math.sqrt(counts[b] / max));
      d.push('M' + (LABEL_W + b * 2) + ',' + OV_H + 'v' + (-bh).toFixed(1) + 'h2v' + bh.toFixed(1) + 'z');
    }
    return d.join('');
  }
  ovBars = svg('path', { class: 'ov-bars', d: bars(all) }, ovSvg);
  svg('path', { class: 'ov-failed', d: bars(bad) }, ovSvg);
  M.alerts.forEach(function (a) {
    var x = LABEL_W + (a.t - full0) / (full1 - full0) * PW;
    svg('line', { class: 'ov-alert', x1: x, x2: x, y1: 0, y2: 7 }, ovSvg);
  });
  ovWindow = svg('rect', { class: 'ov-window', y: 1, height: OV_H - 2 }, ovSvg);
  svg('rect', { class: 'axis-hit', x: LABEL_W, y: 0, width: PW + 10, height: OV_H }, ovSvg);
}
function OX(t) { return LABEL_W + (t - full0) / (full1 - full0) * PW; }
function OT(x) { return full0 + (x - LABEL_W) * (full1 - full0) / PW; }
function renderWindow() {
  var xa = Math.max(LABEL_W, OX(v0)), xb = Math.min(LABEL_W + PW, OX(v1));
  ovWindow.setAttribute('x', xa);
  ovWindow.setAttribute('width', Math.max(2, xb - xa));
  if (brush && brush.svg === ovSvg) drawBrush();
}
function renderSpan() {
  var a = lowerBound(ET, 0, nEv, v0), b = lowerBound(ET, 0, nEv, v1 + 1);
  spanEl.textContent = clock(Math.max(v0, full0), 3) + ' → ' + clock(Math.min(v1, full1), 3) + '  (' +
    duration(v1 - v0) + ', ' + num(b - a) + ' of ' + num(nEv) + ' events)';
}

var pending = false;
function renderAll() {
  if (activeOnly) layoutRows();
  renderAxis();
  renderWindow();
  renderLanes();
  renderSpan();
}
function schedule() {
  if (pending) return;
  pending = true;
  requestAnimationFrame(function () { pending = false; renderAll(); });
}
