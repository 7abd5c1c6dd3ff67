// nstrace report, part 3 of 5: interaction. Zoom, pan, hover, selection,
// the event's details and the list of failed attempts, alerts and losses.

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
  var counts = [0, 0, 0, 0, 0, 0], n = 0, bands = 0;
  for (var k = c[1]; k < c[2]; k++) { counts[MCls[k]] += MW[k]; n += MW[k]; if (isBand(k)) bands += MW[k]; }
  var parts = [];
  for (var i = 5; i >= 0; i--) if (counts[i]) parts.push(counts[i] + ' ' + CLS_WORD[i]);
  var a = MT[c[1]], b = MT[c[2] - 1];
  return n + ' marks on ' + laneName(c[0]) + ': ' + parts.join(', ') + '\n' +
    (bands ? bands + ' of them counted only, past the ' + num(nE) + ' events the report keeps one by one\n' : '') +
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
  else if (l.reused !== undefined) s += '\nlast seen at ' + clock(lastSign(lane), 6) + ', gone by ' + clock(l.reused, 6) + ', when its inode went to another namespace';
  else if (!l.host) s += '\nlast seen at ' + clock(lastSign(lane), 6) + '; no destroy event: unknown after';
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
    for (var o = 0; o < ch.length; o += CH_W) {
      var li = el('li', null, changeText(r, o / CH_W) + (ch[o + CH_NSID] ? '  (ns_id ' + ch[o + CH_NSID] + ')' : ''), ul);
      li.title = 'inode ' + ch[o + CH_FROM] + ' → ' + ch[o + CH_TO];
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
  row(dl, 'Trigger', M.bands.events ? 'not shown: the report\'s filter left it out, or it is past the events kept one by one'
    : 'not shown: the report\'s filter left it out');
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
  if (i >= 0) lane = E[i][F_LANE] >= 0 ? E[i][F_LANE] : E[i][F_CH].length ? E[i][F_CH][CH_LANE] : -1;
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
// The list below the timeline: alerts grouped by rule (most raised
// first), then failed attempts and losses, each group a page at a time.
var NOTABLE_PAGE = 100;
function renderNotable() {
  var body = document.getElementById('notable-body');
  var groups = {}, order = [];
  function add(key, item) {
    if (!groups[key]) { groups[key] = []; order.push(key); }
    groups[key].push(item);
  }
  M.alerts.forEach(function (a, j) { add('alert\u0000' + a.rule, [a.t, 'alert', a.ev, j]); });
  for (var i = 0; i < nE; i++) {
    if (E[i][F_ERR]) add('failed', [E[i][F_T], 'failed', i, -1]);
    else if (E[i][F_KIND] === KIND_LOST) add('lost', [E[i][F_T], 'lost', i, -1]);
  }
  if (!order.length) { body.replaceChildren(el('p', 'muted', 'None: no attempt failed, no alert was raised, no record was lost.')); return; }
  var rank = function (k) { return k.indexOf('alert') === 0 ? 0 : k === 'failed' ? 1 : 2; };
  order.sort(function (a, b) { return rank(a) - rank(b) || groups[b].length - groups[a].length || (a < b ? -1 : 1); });
  var nodes = order.map(function (key) {
    var items = groups[key].sort(function (a, b) { return a[0] - b[0]; });
    var d = el('details', 'notable-group');
    d.setAttribute('data-group', key.replace('\u0000', ':'));
    d.setAttribute('data-n', items.length);
    if (items.length <= 20) d.open = true;
    var sum = el('summary', null, null, d);
    var kind = items[0][1];
    el('span', 'tag ' + kind, kind, sum);
    sum.appendChild(document.createTextNode(
      (kind === 'alert' ? M.alerts[items[0][3]].rule : kind === 'failed' ? 'failed attempts' : 'records lost') + ' ×' + num(items.length) +
      '  ' + clock(items[0][0], 3) + ' → ' + clock(items[items.length - 1][0], 3)));
    var ul = el('ul', 'notable-list', null, d), shown = 0, more = null;
    function page() {
      items.slice(shown, shown + NOTABLE_PAGE).forEach(function (it) { notableItem(ul, it); });
      shown = Math.min(items.length, shown + NOTABLE_PAGE);
      if (more) more.remove();
      more = null;
      if (shown < items.length) {
        more = el('button', 'linkish more', 'show ' + Math.min(NOTABLE_PAGE, items.length - shown) + ' more of ' + num(items.length - shown), d);
        more.type = 'button';
        more.addEventListener('click', page);
      }
    }
    page();
    return d;
  });
  if (M.bands.events) {
    nodes.push(el('p', 'muted', 'Failed attempts and losses among the ' + num(M.bands.events) +
      ' events past the first ' + num(nE) + ' are counted in the summary and on the timeline, not listed.'));
  }
  body.replaceChildren.apply(body, nodes);
}
function notableItem(ul, it) {
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
}
