// nstrace report, part 1 of 5: the data. Parses the JSON in #nstrace-data
// and indexes it: marks per lane in typed arrays, times, names.
// The five parts share one scope: html.go joins them, in order, inside one
// function. Every string from the data goes into the page through
// textContent or setAttribute, never as markup.

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
var M = raw.meta, E = raw.events, S = M.strings;

// Event, change, lane and alert rows are arrays; meta.columns names their
// positions (tracer/internal/report/data.go writes them).
function columns(names) {
  var at = {};
  names.forEach(function (n, i) { at[n] = i; });
  return function (n) {
    if (!(n in at)) throw new Error('report data has no column ' + n);
    return at[n];
  };
}
var col = columns(M.columns.event), chCol = columns(M.columns.change);

// Lanes and alerts become objects once: the rest of the page reads them so.
var L = (function () {
  var c = columns(M.columns.lane), K = c('kind'), TY = c('type'), INO = c('ino'), ID = c('nsid'), LB = c('label'),
    NM = c('name'), HO = c('host'), CT = c('ctr'), OW = c('owner'), CP = c('creator_pid'), CC = c('creator_comm'),
    CS = c('creator_syscall'), CR = c('created'), GO = c('gone'), RU = c('reused'), N = c('n');
  return M.lanes.map(function (r) {
    var l = { k: M.lane_kinds[r[K]], label: S[r[LB]], n: r[N] };
    if (l.k !== 'ns') return l;
    l.type = M.types[r[TY]];
    if (r[INO]) l.ino = r[INO];
    if (r[ID]) l.nsid = String(r[ID]);
    if (r[NM]) l.name = S[r[NM]];
    if (r[HO]) l.host = true;
    if (r[CT]) l.ctr = S[r[CT]];
    if (r[OW]) l.owner = r[OW];
    if (r[CP] >= 0) l.creator = { pid: r[CP], comm: S[r[CC]], syscall: S[r[CS]] };
    if (r[CR] >= 0) l.created = r[CR];
    if (r[GO] >= 0) l.gone = r[GO];
    if (r[RU] >= 0) l.reused = r[RU];
    return l;
  });
})();
M.alerts = (function () {
  var c = columns(M.columns.alert), RU = c('rule'), SE = c('severity'), MS = c('message'), T = c('t'), EV = c('ev');
  return M.alerts.map(function (r) { return { rule: S[r[RU]], severity: S[r[SE]], message: r[MS], t: r[T], ev: r[EV] }; });
})();
var nE = E.length, nL = L.length;
var F_T = col('dt'), F_KIND = col('kind'), F_PID = col('pid'), F_TID = col('tid'), F_PPID = col('ppid'),
  F_UID = col('uid'), F_COMM = col('comm'), F_ERR = col('error'), F_FLAGS = col('flags'), F_CTR = col('container'),
  F_LANE = col('lane'), F_CH = col('changes'), F_TARGET = col('target'), F_LOST = col('lost');
var CH_W = M.columns.change.length, CH_TYPE = chCol('type'), CH_ACTION = chCol('action'), CH_FROM = chCol('from'),
  CH_TO = chCol('to'), CH_NSID = chCol('ns_id'), CH_LANE = chCol('lane'), CH_FROM_LANE = chCol('from_lane');
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
    for (var j = 0; j < ch.length; j += CH_W) fn(ch[j + CH_LANE], r[F_T], i, j / CH_W, ACT_CLS[ch[j + CH_ACTION]]);
  }
  if (alertLane >= 0) {
    for (var a = 0; a < M.alerts.length; a++) fn(alertLane, M.alerts[a].t, M.alerts[a].ev, a, C_ALERT);
  }
  // Past the events kept one by one, marks come counted, per band of
  // meta.bands.width ns: [lane step, slot step, class, n] (data.go's
  // writeBands). A band is a mark with no event, of weight n.
  var B = M.bands.marks, W = M.bands.width, O = M.bands.origin, lane = 0, slot = 0;
  for (var bi = 0; bi < B.length; bi += 4) {
    if (B[bi] !== 0) { lane += B[bi]; slot = 0; }
    slot += B[bi + 1];
    fn(lane, O + slot * W, -1, -1, B[bi + 2], B[bi + 3]);
  }
}
var laneStart = new Int32Array(nL + 1);
eachMark(function (l) { laneStart[l + 1]++; });
for (li = 0; li < nL; li++) laneStart[li + 1] += laneStart[li];
var nM = laneStart[nL];
var MT = new Float64Array(nM), MEv = new Int32Array(nM), MAux = new Int32Array(nM), MCls = new Uint8Array(nM);
var MW = new Uint32Array(nM); // how many marks each stands for: 1, or a band's count
var fillAt = laneStart.slice(0, nL);
eachMark(function (l, t, ev, aux, cls, n) {
  var k = fillAt[l]++;
  MT[k] = t; MEv[k] = ev; MAux[k] = aux; MCls[k] = cls; MW[k] = n || 1;
});
function isBand(k) { return MEv[k] < 0 && MCls[k] !== C_ALERT; }
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
  var w = idx.map(function (k) { return MW[k]; });
  for (i = 0; i < idx.length; i++) {
    MT[s + i] = t[i]; MEv[s + i] = ev[i]; MAux[s + i] = aux[i]; MCls[s + i] = cls[i]; MW[s + i] = w[i];
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
  var ch = r[F_CH], o = j * CH_W, l = L[ch[o + CH_LANE]], act = M.actions[ch[o + CH_ACTION]];
  var s = (VERB[act] || act) + ' ' + M.types[ch[o + CH_TYPE]] + ' ' + ch[o + CH_TO] + (l.label !== 'unnamed' ? ' ' + l.label : '');
  if (ch[o + CH_FROM_LANE] >= 0) s += '  (left ' + laneName(ch[o + CH_FROM_LANE]) + ')';
  return s;
}
function eventTitle(i) {
  var r = E[i];
  if (r[F_KIND] === KIND_LOST) return clock(r[F_T], 6) + '  ' + r[F_LOST] + ' records lost (ring buffer full)';
  var s = clock(r[F_T], 6) + '  ' + M.kinds[r[F_KIND]] + ' by ' + proc(r);
  if (r[F_ERR]) s += ' FAILED ' + errText(r) + (S[r[F_FLAGS]] ? ' ' + S[r[F_FLAGS]] : '');
  return s;
}
