// nstrace report, part 5 of 5: the first drawing, and the timings the
// browser test reads from the status element.

// ---- first drawing ----
// #search=QUERY opens with the search done: a link can carry it;
// #group=container or #group=creator opens grouped so.
var wantSearch = /^#search=(.*)$/.exec(location.hash), wantGroup = /^#group=(\w+)$/.exec(location.hash);
if (wantSearch) {
  searchBox.value = decodeURIComponent(wantSearch[1]);
  searchHit = searchLanes(searchBox.value);
}
if (wantGroup) regroup(wantGroup[1]);
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
  var worst = 0, worstMove = 0, steps = 0;
  var timed = function (fn, move) {
    fn();
    pending = false;
    var t0 = performance.now();
    renderAll();
    var took = performance.now() - t0;
    worst = Math.max(worst, took);
    if (move) worstMove = Math.max(worstMove, took);
    steps++;
  };
  for (var z = 0; z < 6; z++) timed(function () { zoom(0.5, span * 0.37); }, true);
  for (var p = 0; p < 4; p++) timed(function () { pan((v1 - v0) * 0.3); }, true);
  timed(function () { scroll.scrollTop = totalH / 2; });
  timed(function () { setView(full0, full1); });
  timed(function () { select(Math.floor(nE / 2)); });
  statusEl.setAttribute('data-redraw-max-ms', worst.toFixed(1));
  statusEl.setAttribute('data-move-max-ms', worstMove.toFixed(1)); // the zoom and pan steps alone
  statusEl.setAttribute('data-redraws', steps);
}
statusEl.setAttribute('data-state', statusEl.getAttribute('data-state') === 'error' ? 'error' : 'done');
