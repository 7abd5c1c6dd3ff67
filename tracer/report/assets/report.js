// nstrace report: draws the timeline from the JSON in #nstrace-data.
// Every string from the data goes into the page through textContent or
// setAttribute, never as markup.
(function () {
  'use strict';
  var perfStart = performance.now();
  var statusEl = document.getElementById('render-status');
  var errorsEl = document.getElementById('page-errors');

  function reportError(msg) {
    errorsEl.hidden = false;
    errorsEl.appendChild(document.createTextNode(String(msg) + '\n'));
    statusEl.setAttribute('data-state', 'error');
    statusEl.textContent = 'error while drawing: ' + msg;
  }
  window.addEventListener('error', function (e) {
    reportError((e.message || 'error') + (e.lineno ? ' (line ' + e.lineno + ')' : ''));
  });
  window.addEventListener('unhandledrejection', function (e) { reportError('unhandled rejection: ' + e.reason); });

  var SVGNS = 'http://www.w3.org/2000/svg';
  function svg(tag, attrs, parent) {
    var n = document.createElementNS(SVGNS, tag);
    for (var k in attrs) n.setAttribute(k, attrs[k]);
    if (parent) parent.appendChild(n);
    return n;
  }
  function el(tag, cls, text, parent) {
    var n = document.createElement(tag);
    if (cls) n.className = cls;
    if (text !== undefined && text !== null) n.textContent = text;
    if (parent) parent.appendChild(n);
    return n;
  }

  var raw = JSON.parse(document.getElementById('nstrace-data').textContent);
  var tParsed = performance.now();
  var M = raw.meta, E = raw.events, S = M.strings, L = M.lanes;
  var nE = E.length, nL = L.length;

  // Event rows: see tracer/report/data.go.
  var F_T = 0, F_KIND = 1, F_PID = 2, F_TID = 3, F_PPID = 4, F_UID = 5, F_COMM = 6, F_ERR = 7,
    F_FLAGS = 8, F_CTR = 9, F_LANE = 10, F_CH = 11, F_TARGET = 12, F_LOST = 13;
  // Mark classes, in the order a cluster takes its colour from.
  var C_LOST = 0, C_JOIN = 1, C_DESTROY = 2, C_CREATE = 3, C_FAILED = 4, C_ALERT = 5;
  var CLS_NAME = ['m-lost', 'm-join', 'm-destroy', 'm-create', 'm-failed', 'm-alert'];
  var CLS_WORD = ['lost', 'join', 'destroy', 'create', 'failed', 'alert'];
  var KIND_LOST = M.kinds.indexOf('lost');
  var ACT_CLS = M.actions.map(function (a) {
    return a === 'create' ? C_CREATE : a === 'destroy' ? C_DESTROY : C_JOIN;
  });
  var GROUP_TITLE = {
    attention: 'attention', user: 'user namespaces', net: 'network namespaces (net)', pid: 'PID namespaces',
    mnt: 'mount namespaces (mnt)', uts: 'hostname namespaces (uts)', ipc: 'IPC namespaces',
    cgroup: 'cgroup namespaces', time: 'time namespaces'
  };
  var ERRNO = {
    EPERM: 'operation not permitted', EACCES: 'permission denied', EINVAL: 'invalid argument',
    ENOSPC: 'namespace limit reached', EUSERS: 'too many nested user namespaces', EBADF: 'bad file descriptor',
    ENOMEM: 'out of memory', ENOSYS: 'not supported by this kernel', EAGAIN: 'try again'
  };

  // ---- marks, per lane, sorted by time, in typed arrays ----
  var alertLane = -1;
  for (var li = 0; li < nL; li++) if (L[li].k === 'alerts') alertLane = li;
  var evAlerts = {};
  M.alerts.forEach(function (a, i) {
    if (a.ev >= 0) (evAlerts[a.ev] = evAlerts[a.ev] || []).push(i);
  });

  function eachMark(fn) {
    for (var i = 0; i < nE; i++) {
      var r = E[i];
      if (r[F_KIND] === KIND_LOST || r[F_ERR] !== 0) {
        if (r[F_LANE] >= 0) fn(r[F_LANE], r[F_T], i, -1, r[F_KIND] === KIND_LOST ? C_LOST : C_FAILED);
        continue;
      }
      var ch = r[F_CH];
      for (var j = 0; j < ch.length; j += 7) fn(ch[j + 5], r[F_T], i, j / 7, ACT_CLS[ch[j + 1]]);
    }
    if (alertLane >= 0) {
      for (var a = 0; a < M.alerts.length; a++) fn(alertLane, M.alerts[a].t, M.alerts[a].ev, a, C_ALERT);
    }
  }
  var laneStart = new Int32Array(nL + 1);
  eachMark(function (l) { laneStart[l + 1]++; });
  for (li = 0; li < nL; li++) laneStart[li + 1] += laneStart[li];
  var nM = laneStart[nL];
  var MT = new Float64Array(nM), MEv = new Int32Array(nM), MAux = new Int32Array(nM), MCls = new Uint8Array(nM);
  var fillAt = laneStart.slice(0, nL);
  eachMark(function (l, t, ev, aux, cls) {
    var k = fillAt[l]++;
    MT[k] = t; MEv[k] = ev; MAux[k] = aux; MCls[k] = cls;
  });
  for (li = 0; li < nL; li++) sortLane(laneStart[li], laneStart[li + 1]);

  function sortLane(s, e) {
    var sorted = true;
    for (var i = s + 1; i < e && sorted; i++) sorted = MT[i - 1] <= MT[i];
    if (sorted) return;
    var idx = [];
    for (i = s; i < e; i++) idx.push(i);
    idx.sort(function (a, b) { return MT[a] - MT[b] || a - b; });
    var t = idx.map(function (k) { return MT[k]; }), ev = idx.map(function (k) { return MEv[k]; });
    var aux = idx.map(function (k) { return MAux[k]; }), cls = idx.map(function (k) { return MCls[k]; });
    for (i = 0; i < idx.length; i++) {
      MT[s + i] = t[i]; MEv[s + i] = ev[i]; MAux[s + i] = aux[i]; MCls[s + i] = cls[i];
    }
  }
  // Every event's time, sorted: how many events a view holds.
  var nEv = 0;
  for (var ei = 0; ei < nE; ei++) if (E[ei][F_KIND] !== KIND_LOST) nEv++;
  var ET = new Float64Array(nEv);
  for (ei = 0, nEv = 0; ei < nE; ei++) if (E[ei][F_KIND] !== KIND_LOST) ET[nEv++] = E[ei][F_T];
  ET.sort();

  function lowerBound(a, lo, hi, v) {
    while (lo < hi) {
      var mid = (lo + hi) >>> 1;
      if (a[mid] < v) lo = mid + 1; else hi = mid;
    }
    return lo;
  }

  // ---- time ----
  var DAY = 864e11;
  function num(n) { return String(n).replace(/\B(?=(\d{3})+(?!\d))/g, '\u202f'); }
  function pad(n, w) { var s = String(n); while (s.length < w) s = '0' + s; return s; }
  // clock is the UTC time of day of t (ns since the first event) with
  // digits fractional digits.
  function clock(t, digits) {
    var ns = Math.round(M.start_tod + t);
    var day = Math.floor(ns / DAY);
    ns -= day * DAY;
    var sec = Math.floor(ns / 1e9), frac = ns - sec * 1e9;
    var s = pad(Math.floor(sec / 3600), 2) + ':' + pad(Math.floor(sec / 60) % 60, 2) + ':' + pad(sec % 60, 2);
    if (digits > 0) s += '.' + pad(frac, 9).slice(0, digits);
    return day ? s + ' (+' + day + 'd)' : s;
  }
  function fullTime(t) {
    var p = M.start_day.split('-');
    var ns = Math.round(M.start_tod + t);
    var d = new Date(Date.UTC(+p[0], +p[1] - 1, +p[2] + Math.floor(ns / DAY)));
    return d.toISOString().slice(0, 10) + ' ' + clock(t - Math.floor(ns / DAY) * DAY, 9) + ' UTC';
  }
  function duration(ns) {
    ns = Math.abs(ns);
    if (ns < 1e3) return Math.round(ns) + ' ns';
    if (ns < 1e6) return (ns / 1e3).toFixed(ns < 1e4 ? 2 : 0) + ' µs';
    if (ns < 1e9) return (ns / 1e6).toFixed(ns < 1e7 ? 2 : 1) + ' ms';
    if (ns < 6e10) return (ns / 1e9).toFixed(2) + ' s';
    if (ns < 36e11) return Math.floor(ns / 6e10) + ' min ' + Math.round((ns % 6e10) / 1e9) + ' s';
    return Math.floor(ns / 36e11) + ' h ' + Math.round((ns % 36e11) / 6e10) + ' min';
  }
  var STEPS = [];
  (function () {
    for (var e = 0; e < 9; e++) [1, 2, 5].forEach(function (m) { STEPS.push(m * Math.pow(10, e)); });
    [1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400]
      .forEach(function (s) { STEPS.push(s * 1e9); });
  })();
  function niceStep(rough) {
    for (var i = 0; i < STEPS.length; i++) if (STEPS[i] >= rough) return STEPS[i];
    return Math.ceil(rough / 864e11) * 864e11;
  }

  // severityClass maps what a rule called its severity to one of the
  // styles; the text itself never becomes a class name.
  function severityClass(sev) {
    sev = String(sev).toLowerCase();
    return sev === 'critical' || sev === 'high' ? 'critical' : sev === 'notice' || sev === 'info' || sev === 'low' ? 'notice' : 'warning';
  }

  // ---- names ----
  function comm(r) { return S[r[F_COMM]]; }
  function proc(r) { return comm(r) + '[' + r[F_PID] + ']'; }
  function laneName(l) {
    var x = L[l];
    if (x.k !== 'ns') return x.label;
    return x.type + ' ' + x.ino + (x.label !== 'unnamed' ? ' ' + x.label : '');
  }
  function errText(r) {
    var e = S[r[F_ERR]];
    return e + (ERRNO[e] ? ' (' + ERRNO[e] + ')' : '');
  }
  var VERB = { create: 'created', join: 'entered', destroy: 'destroyed' };
  // changeText says what a change did: "entered net 4026532177 "web" (left net 4026531833 host)".
  function changeText(r, j) {
    var ch = r[F_CH], o = j * 7, l = L[ch[o + 5]], act = M.actions[ch[o + 1]];
    var s = (VERB[act] || act) + ' ' + M.types[ch[o]] + ' ' + ch[o + 3] + (l.label !== 'unnamed' ? ' ' + l.label : '');
    if (ch[o + 6] >= 0) s += '  (left ' + laneName(ch[o + 6]) + ')';
    return s;
  }
  function eventTitle(i) {
    var r = E[i];
    if (r[F_KIND] === KIND_LOST) return clock(r[F_T], 6) + '  ' + r[F_LOST] + ' records lost (ring buffer full)';
    var s = clock(r[F_T], 6) + '  ' + M.kinds[r[F_KIND]] + ' by ' + proc(r);
    if (r[F_ERR]) s += ' FAILED ' + errText(r) + (S[r[F_FLAGS]] ? ' ' + S[r[F_FLAGS]] : '');
    return s;
  }

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
  function activeInView(lane) {
    var l = L[lane];
    if (l.k !== 'ns' || l.host) return true;
    var s = laneStart[lane], e = laneStart[lane + 1], i = lowerBound(MT, s, e, v0);
    return i < e && MT[i] <= v1;
  }
  function layoutRows() {
    rows = [];
    laneRow.fill(-1);
    var y = 0;
    M.groups.forEach(function (g, gi) {
      var head = { g: gi, lane: -1, y: y, h: GROUP_H, shown: 0 };
      rows.push(head);
      y += GROUP_H;
      if (collapsed[g.name]) return;
      for (var k = 0; k < g.lanes.length; k++) {
        if (activeOnly && !activeInView(g.lanes[k])) continue;
        laneRow[g.lanes[k]] = rows.length;
        rows.push({ g: gi, lane: g.lanes[k], y: y, h: LANE_H, odd: head.shown & 1 });
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
    t.textContent = (collapsed[g.name] ? '▸ ' : '▾ ') + (GROUP_TITLE[g.name] || g.name);
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
    label.textContent = l.label.length > room ? l.label.slice(0, Math.max(room - 1, 1)) + '…' : l.label;
    if (ino) {
      var it = svg('text', { class: 'lane-ino', x: LABEL_W - 8, y: 15, 'text-anchor': 'end' }, g);
      it.textContent = ino;
    }
    svg('line', { class: 'label-sep', x1: LABEL_W - 2, x2: LABEL_W - 2, y1: 0, y2: LANE_H }, g);
    var mg = svg('g', { 'clip-path': 'url(#clip-lane)' }, g);
    if (l.k === 'ns') {
      var a = l.created !== undefined ? l.created : full0;
      var b = l.gone !== undefined ? l.gone : l.reused !== undefined ? l.reused : full1;
      var xa = Math.max(LABEL_W, X(a)), xb = Math.min(W, X(b));
      if (xb > xa) {
        svg('line', { class: 'life' + (l.created === undefined ? ' pre' : ''), x1: xa, x2: xb, y1: LANE_H / 2, y2: LANE_H / 2 }, mg);
      }
    }
    drawMarks(mg, lane);
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
      if (j - i === 1) {
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
      var from = E[ev][F_CH][MAux[k] * 7 + 6];
      if (from >= 0) links.push([x, lane, from, ev]);
    }
  }

  // A cluster takes the colour of an alert or a failure among its marks,
  // so they never hide; otherwise that of the most of them.
  function drawCluster(g, lane, i, j, xa, xb, cy) {
    var n = j - i, counts = [0, 0, 0, 0, 0, 0], mix = [], top = C_LOST;
    for (var k = i; k < j; k++) counts[MCls[k]]++;
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
    for (var o = 0; o < ch.length && !r[F_ERR]; o += 7) {
      if (ch[o + 6] >= 0 && !drawn[ch[o + 5]]) drawLink(x, ch[o + 6], ch[o + 5], true);
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

  // ---- zoom and pan ----
  var MIN_SPAN = 1e3;
  function setView(a, b) {
    if (b - a < MIN_SPAN) { var c = (a + b) / 2; a = c - MIN_SPAN / 2; b = c + MIN_SPAN / 2; }
    var fullSpan = full1 - full0;
    if (b - a > fullSpan) { a = full0; b = full1; }
    if (a < full0) { b += full0 - a; a = full0; }
    if (b > full1) { a -= b - full1; b = full1; }
    v0 = a; v1 = b;
    schedule();
  }
  function zoom(factor, atT) {
    if (atT === undefined) atT = (v0 + v1) / 2;
    setView(atT - (atT - v0) * factor, atT + (v1 - atT) * factor);
  }
  function pan(dt) { setView(v0 + dt, v1 + dt); }

  document.getElementById('zoom-in').addEventListener('click', function () { zoom(0.5); });
  document.getElementById('zoom-out').addEventListener('click', function () { zoom(2); });
  document.getElementById('zoom-fit').addEventListener('click', function () { setView(full0, full1); });
  var activeBox = document.getElementById('active-only');
  activeBox.checked = activeOnly;
  activeBox.addEventListener('change', function () {
    activeOnly = activeBox.checked;
    layoutRows();
    schedule();
  });
  document.addEventListener('keydown', function (e) {
    var tag = e.target && e.target.tagName;
    if (/TEXTAREA|SELECT/.test(tag) || (tag === 'INPUT' && e.target.type !== 'checkbox')) return;
    if (e.key === '+' || e.key === '=') zoom(0.5);
    else if (e.key === '-' || e.key === '_') zoom(2);
    else if (e.key === '0') setView(full0, full1);
    else if (e.key === 'ArrowLeft') pan(-(v1 - v0) * 0.2);
    else if (e.key === 'ArrowRight') pan((v1 - v0) * 0.2);
    else if (e.key === 'Escape') select(-1);
    else return;
    e.preventDefault();
  });

  function wheel(e, always) {
    var rect = e.currentTarget.getBoundingClientRect(), x = e.clientX - rect.left;
    if (e.ctrlKey || e.metaKey || always) {
      e.preventDefault();
      zoom(Math.exp(e.deltaY * (e.deltaMode ? 0.05 : 0.0015)), x >= LABEL_W ? T(x) : undefined);
    } else if (Math.abs(e.deltaX) > Math.abs(e.deltaY)) {
      e.preventDefault();
      pan(e.deltaX * (v1 - v0) / PW);
    }
  }
  laneSvg.addEventListener('wheel', function (e) { wheel(e, false); }, { passive: false });
  axSvg.addEventListener('wheel', function (e) { wheel(e, true); }, { passive: false });
  ovSvg.addEventListener('wheel', function (e) { wheel(e, true); }, { passive: false });

  // Dragging on the lanes pans; a press that does not move is a click.
  var drag = null;
  laneSvg.addEventListener('pointerdown', function (e) {
    if (e.button !== 0) return;
    var x = e.clientX - laneSvg.getBoundingClientRect().left;
    drag = { x: e.clientX, v0: v0, v1: v1, moved: false, target: e.target, plot: x >= LABEL_W, id: e.pointerId };
  });
  laneSvg.addEventListener('pointermove', function (e) {
    if (drag && drag.plot && (drag.moved || Math.abs(e.clientX - drag.x) > 3)) {
      if (!drag.moved) { drag.moved = true; laneSvg.setPointerCapture(drag.id); laneSvg.classList.add('dragging'); hideTip(); }
      var dt = (e.clientX - drag.x) * (drag.v1 - drag.v0) / PW;
      setView(drag.v0 - dt, drag.v1 - dt);
      return;
    }
    hover(e);
  });
  laneSvg.addEventListener('pointerup', function (e) {
    if (!drag) return;
    var d = drag;
    drag = null;
    laneSvg.classList.remove('dragging');
    if (!d.moved) click(d.target, e);
  });
  laneSvg.addEventListener('pointerleave', function () { if (!drag) hideTip(); });
  laneSvg.addEventListener('dblclick', function (e) {
    var x = e.clientX - laneSvg.getBoundingClientRect().left;
    if (x >= LABEL_W) zoom(0.5, T(x));
  });

  // Dragging on the axis or the overview selects a span to show.
  var brush = null;
  function brushable(s, toT, fromT) {
    s.addEventListener('pointerdown', function (e) {
      var x = e.clientX - s.getBoundingClientRect().left;
      if (e.button !== 0 || x < LABEL_W) return;
      s.setPointerCapture(e.pointerId);
      brush = { svg: s, x0: x, x1: x, toT: toT, fromT: fromT, rect: null };
    });
    s.addEventListener('pointermove', function (e) {
      if (!brush || brush.svg !== s) return;
      brush.x1 = Math.max(LABEL_W, Math.min(LABEL_W + PW, e.clientX - s.getBoundingClientRect().left));
      drawBrush();
    });
    s.addEventListener('pointerup', function () {
      if (!brush || brush.svg !== s) return;
      var b = brush;
      brush = null;
      if (b.rect) b.rect.remove();
      var ta = b.toT(Math.min(b.x0, b.x1)), tb = b.toT(Math.max(b.x0, b.x1));
      if (Math.abs(b.x1 - b.x0) < 3) {
        var half = (v1 - v0) / 2;
        setView(ta - half, ta + half);
      } else {
        setView(ta, tb);
      }
    });
  }
  function drawBrush() {
    if (!brush) return;
    if (!brush.rect || !brush.rect.isConnected) brush.rect = svg('rect', { class: 'brush', y: 1 }, brush.svg);
    brush.rect.setAttribute('x', Math.min(brush.x0, brush.x1));
    brush.rect.setAttribute('width', Math.abs(brush.x1 - brush.x0));
    brush.rect.setAttribute('height', brush.svg === axSvg ? AX_H - 2 : OV_H - 2);
  }
  brushable(axSvg, T, X);
  brushable(ovSvg, OT, OX);

  scroll.addEventListener('scroll', schedule);
  window.addEventListener('resize', function () { measure(); renderOverview(); schedule(); });

  // ---- hover and click ----
  function markAt(target) {
    var n = target && target.closest ? target.closest('[data-m],[data-k],.group-head,.lane') : null;
    return n;
  }
  function hover(e) {
    var n = markAt(e.target);
    if (!n) { hideTip(); return; }
    var text;
    if (n.hasAttribute('data-m')) text = describeMark(+n.getAttribute('data-m'));
    else if (n.hasAttribute('data-k')) text = describeCluster(clusters[+n.getAttribute('data-k')]);
    else if (n.classList.contains('lane') && e.clientX - laneSvg.getBoundingClientRect().left < LABEL_W) {
      text = describeLane(+n.getAttribute('data-lane'));
    }
    if (!text) { hideTip(); return; }
    tooltip.textContent = text;
    tooltip.hidden = false;
    var tw = tooltip.offsetWidth, th = tooltip.offsetHeight;
    var x = e.clientX + 14, y = e.clientY + 14;
    if (x + tw > window.innerWidth - 4) x = e.clientX - tw - 10;
    if (y + th > window.innerHeight - 4) y = e.clientY - th - 10;
    tooltip.style.left = Math.max(4, x) + 'px';
    tooltip.style.top = Math.max(4, y) + 'px';
  }
  function hideTip() { tooltip.hidden = true; }

  function click(target) {
    var n = markAt(target);
    if (!n) return;
    if (n.classList.contains('group-head')) {
      var name = n.getAttribute('data-group');
      collapsed[name] = !collapsed[name];
      layoutRows();
      schedule();
      return;
    }
    if (n.hasAttribute('data-m')) {
      var k = +n.getAttribute('data-m');
      if (MCls[k] === C_ALERT) showAlert(MAux[k]);
      else select(MEv[k]);
      return;
    }
    if (n.hasAttribute('data-k')) {
      var c = clusters[+n.getAttribute('data-k')];
      var a = MT[c[1]], b = MT[c[2] - 1];
      if (b - a > MIN_SPAN) {
        var m = (b - a) * 0.15;
        setView(a - m, b + m);
      } else {
        showCluster(c);
      }
    }
  }

  function describeMark(k) {
    var c = MCls[k], ev = MEv[k];
    if (c === C_ALERT) {
      var a = M.alerts[MAux[k]];
      return 'ALERT ' + a.severity + ': ' + a.rule + '\n' + a.message + '\n' + clock(a.t, 6) +
        (ev >= 0 ? '\ntriggered by ' + eventTitle(ev) : '');
    }
    var r = E[ev], s = eventTitle(ev);
    if (MAux[k] >= 0) s += '\n' + changeText(r, MAux[k]);
    if (c === C_FAILED && r[F_TARGET]) s += '\ntried to enter ' + M.types[r[F_TARGET][0]] + ' ' + r[F_TARGET][1];
    if (r[F_CTR] >= 0) s += '\nin ' + M.containers[r[F_CTR]].label;
    if (evAlerts[ev]) s += '\n' + evAlerts[ev].length + ' alert(s): ' + evAlerts[ev].map(function (i) { return M.alerts[i].rule; }).join(', ');
    return s;
  }
  function describeCluster(c) {
    var counts = [0, 0, 0, 0, 0, 0];
    for (var k = c[1]; k < c[2]; k++) counts[MCls[k]]++;
    var parts = [];
    for (var i = 5; i >= 0; i--) if (counts[i]) parts.push(counts[i] + ' ' + CLS_WORD[i]);
    var a = MT[c[1]], b = MT[c[2] - 1];
    return (c[2] - c[1]) + ' marks on ' + laneName(c[0]) + ': ' + parts.join(', ') + '\n' +
      clock(a, 6) + ' → ' + clock(b, 6) + ' (' + duration(b - a) + ')\nclick to zoom in';
  }
  function describeLane(lane) {
    var l = L[lane];
    if (l.k !== 'ns') return l.label + ': ' + l.n + ' marks';
    var s = l.type + ' namespace ' + l.ino + (l.nsid ? ' (ns_id ' + l.nsid + ')' : '') + '\n' + l.label;
    if (l.creator) s += '\ncreated by ' + l.creator.comm + '[' + l.creator.pid + '] with ' + l.creator.syscall;
    if (l.created !== undefined) s += ' at ' + clock(l.created, 6);
    else s += '\nexisted before the first event';
    if (l.gone !== undefined) s += '\ndestroyed at ' + clock(l.gone, 6);
    else if (l.reused !== undefined) s += '\ngone by ' + clock(l.reused, 6) + ', when its inode went to another namespace';
    if (l.owner) s += '\nowned by user namespace ' + l.owner;
    return s + '\n' + l.n + ' marks';
  }

  // ---- the selected event ----
  var details = document.getElementById('details'), detailsBody = document.getElementById('details-body');
  document.getElementById('details-close').addEventListener('click', function () { select(-1); });
  function showDetails(nodes) {
    detailsBody.replaceChildren.apply(detailsBody, nodes);
    details.hidden = false;
  }
  function row(dl, term, value) {
    el('dt', null, term, dl);
    var dd = el('dd', null, null, dl);
    if (value instanceof Node) dd.appendChild(value); else dd.textContent = value;
    return dd;
  }
  function select(i) {
    sel = i;
    schedule();
    if (i < 0) { details.hidden = true; return; }
    var r = E[i], dl = el('dl');
    row(dl, 'Time', fullTime(r[F_T]) + '  (+' + duration(r[F_T]) + ')');
    if (r[F_KIND] === KIND_LOST) {
      row(dl, 'Lost', r[F_LOST] + ' records the kernel could not deliver (ring buffer full)');
      showDetails([dl]);
      return;
    }
    row(dl, 'Event', M.kinds[r[F_KIND]]);
    if (r[F_ERR]) row(dl, 'Failed', errText(r)).className = 'bad';
    row(dl, 'Process', comm(r) + '  pid ' + r[F_PID] + (r[F_TID] !== r[F_PID] ? ' tid ' + r[F_TID] : '') +
      ', parent ' + r[F_PPID] + ', uid ' + r[F_UID]);
    if (S[r[F_FLAGS]]) row(dl, 'Flags', S[r[F_FLAGS]]);
    if (r[F_CTR] >= 0) {
      var c = M.containers[r[F_CTR]];
      row(dl, 'Container', c.label + (c.runtime ? ' (' + c.runtime + ')' : '') + (c.id && c.id !== c.label ? '  ' + c.id : ''));
    }
    if (r[F_TARGET]) row(dl, 'Target', M.types[r[F_TARGET][0]] + ' ' + r[F_TARGET][1] + (r[F_LANE] >= 0 ? '  ' + L[r[F_LANE]].label : ''));
    var ch = r[F_CH];
    if (ch.length) {
      var ul = el('ul');
      for (var o = 0; o < ch.length; o += 7) {
        var li = el('li', null, changeText(r, o / 7) + (ch[o + 4] ? '  (ns_id ' + ch[o + 4] + ')' : ''), ul);
        li.title = 'inode ' + ch[o + 2] + ' → ' + ch[o + 3];
      }
      row(dl, 'Changes', ul);
    }
    (evAlerts[i] || []).forEach(function (a) {
      var al = M.alerts[a];
      row(dl, 'Alert', al.severity + ' · ' + al.rule + ': ' + al.message).className = 'bad';
    });
    showDetails([dl]);
  }
  function showAlert(a) {
    var al = M.alerts[a];
    if (al.ev >= 0) { select(al.ev); return; }
    sel = -1;
    schedule();
    var dl = el('dl');
    row(dl, 'Time', fullTime(al.t));
    row(dl, 'Alert', al.severity + ' · ' + al.rule).className = 'bad';
    row(dl, 'Message', al.message);
    row(dl, 'Trigger', 'not shown: the report\'s filter left it out');
    showDetails([dl]);
  }
  function showCluster(c) {
    var ul = el('ul');
    var seen = {}, n = 0;
    for (var k = c[1]; k < c[2] && n < 200; k++) {
      var ev = MEv[k];
      if (ev < 0 || seen[ev]) continue;
      seen[ev] = 1; n++;
      var b = el('button', 'linkish', eventTitle(ev), el('li', null, null, ul));
      b.type = 'button';
      b.addEventListener('click', select.bind(null, ev));
    }
    var p = el('p', 'muted', (c[2] - c[1]) + ' marks at the same moment on ' + laneName(c[0]) + (n >= 200 ? ' (first 200 events)' : ''));
    showDetails([p, ul]);
  }
  // reveal brings an event into sight: its time in the view, its lane on screen.
  function reveal(i, t) {
    if (t < v0 || t > v1) { var half = (v1 - v0) / 2; setView(t - half, t + half); }
    var lane = -1;
    if (i >= 0) lane = E[i][F_LANE] >= 0 ? E[i][F_LANE] : E[i][F_CH].length ? E[i][F_CH][5] : -1;
    if (lane >= 0) {
      var g = M.groups.filter(function (g) { return g.lanes.indexOf(lane) >= 0; })[0];
      if (g && collapsed[g.name]) collapsed[g.name] = false;
      layoutRows();
      var y = rowCenter(lane);
      if (y >= 0 && (y < scroll.scrollTop || y > scroll.scrollTop + scroll.clientHeight)) scroll.scrollTop = y - scroll.clientHeight / 3;
    }
    schedule();
  }

  // ---- failed attempts, alerts, losses: a list to jump from ----
  function renderNotable() {
    var body = document.getElementById('notable-body');
    var items = [];
    for (var i = 0; i < nE; i++) {
      if (E[i][F_ERR]) items.push([E[i][F_T], 'failed', i, -1]);
      else if (E[i][F_KIND] === KIND_LOST) items.push([E[i][F_T], 'lost', i, -1]);
    }
    M.alerts.forEach(function (a, j) { items.push([a.t, 'alert', a.ev, j]); });
    if (!items.length) { body.replaceChildren(el('p', 'muted', 'None: no attempt failed, no alert was raised, no record was lost.')); return; }
    items.sort(function (a, b) { return a[0] - b[0]; });
    var ul = el('ul', 'notable-list'), max = 1000;
    items.slice(0, max).forEach(function (it) {
      var li = el('li', null, null, ul), b = el('button', null, null, li);
      b.type = 'button';
      el('span', 'tag ' + it[1], it[1], b);
      var text = it[1] === 'alert'
        ? clock(it[0], 6) + '  ' + M.alerts[it[3]].rule + ': ' + M.alerts[it[3]].message
        : eventTitle(it[2]);
      b.appendChild(document.createTextNode(text));
      b.addEventListener('click', function () {
        if (it[1] === 'alert') showAlert(it[3]); else select(it[2]);
        reveal(it[2], it[0]);
      });
    });
    body.replaceChildren(ul);
    if (items.length > max) el('p', 'muted', (items.length - max) + ' more not listed', body);
  }

  // ---- first drawing ----
  layoutRows();
  measure();
  var tPrep = performance.now();
  if (nE === 0) {
    box.replaceChildren(el('p', 'noscript', 'No events to show.'));
  } else {
    renderOverview();
    renderAll();
  }
  renderNotable();
  var tDone = performance.now();
  statusEl.setAttribute('data-parse-ms', (tParsed - perfStart).toFixed(1));
  statusEl.setAttribute('data-prep-ms', (tPrep - tParsed).toFixed(1));
  statusEl.setAttribute('data-draw-ms', (tDone - tPrep).toFixed(1));
  statusEl.setAttribute('data-total-ms', (tDone - perfStart).toFixed(1));
  statusEl.setAttribute('data-page-ms', tDone.toFixed(1)); // since the navigation started: loading included
  statusEl.textContent = 'drawn in ' + Math.round(tDone - perfStart) + ' ms';

  // #event=N opens on event N: a link can point at it.
  var want = /^#event=(\d+)$/.exec(location.hash);
  if (want && +want[1] < nE) {
    select(+want[1]);
    reveal(+want[1], E[+want[1]][F_T]);
    pending = false;
    renderAll();
  }

  // #selftest: hover, click, fold, zoom and pan as a person would, timing
  // each redraw, for the browser test to read.
  if (location.hash === '#selftest' && nE > 0) {
    var passed = [];
    var fire = function (target, type) {
      var bb = target.getBoundingClientRect();
      target.dispatchEvent(new PointerEvent(type, {
        bubbles: true, button: 0, pointerId: 1, isPrimary: true,
        clientX: bb.left + bb.width / 2, clientY: bb.top + bb.height / 2
      }));
    };
    var press = function (target) { fire(target, 'pointerdown'); fire(target, 'pointerup'); };
    var cluster = laneSvg.querySelector('.cluster');
    if (cluster) {
      var before = v1 - v0;
      press(cluster);
      if (v1 - v0 < before || !details.hidden) passed.push('cluster');
    }
    // Zoom into clusters until a mark stands alone.
    var mark = laneSvg.querySelector('.mark:not(.cluster)');
    for (var tries = 0; !mark && tries < 20; tries++) {
      pending = false;
      renderAll();
      cluster = laneSvg.querySelector('.cluster');
      if (cluster) press(cluster);
      mark = laneSvg.querySelector('.mark:not(.cluster)');
    }
    if (mark) {
      fire(mark, 'pointermove');
      if (!tooltip.hidden && tooltip.textContent) passed.push('tooltip');
      press(mark);
      if (!details.hidden && detailsBody.textContent) passed.push('details');
    }
    select(-1);
    setView(full0, full1);
    var head = laneSvg.querySelector('.group-head');
    if (head) {
      var n = rows.length;
      press(head);
      if (rows.length < n) passed.push('fold');
      press(head);
    }
    pending = false;
    renderAll();
    statusEl.setAttribute('data-selftest', passed.join(' '));
    var worst = 0, steps = 0;
    var timed = function (fn) {
      fn();
      pending = false;
      var t0 = performance.now();
      renderAll();
      worst = Math.max(worst, performance.now() - t0);
      steps++;
    };
    for (var z = 0; z < 6; z++) timed(function () { zoom(0.5, span * 0.37); });
    for (var p = 0; p < 4; p++) timed(function () { pan((v1 - v0) * 0.3); });
    timed(function () { scroll.scrollTop = totalH / 2; });
    timed(function () { setView(full0, full1); });
    timed(function () { select(Math.floor(nE / 2)); });
    statusEl.setAttribute('data-redraw-max-ms', worst.toFixed(1));
    statusEl.setAttribute('data-redraws', steps);
  }
  statusEl.setAttribute('data-state', statusEl.getAttribute('data-state') === 'error' ? 'error' : 'done');
})();
