// nstrace report, part 4 of 5: finding lanes. The search box: a query
// keeps the lanes it names, by label, name, container, inode, ns_id or
// creator, or by a comm, pid or container of a process with a mark on the
// lane. The special lanes stay, so alerts, failures and losses are never
// hidden by a search. And grouping: by type (as the data comes), by
// container or pod, or by the process that created the namespace.

var searchBox = document.getElementById('search');
var searchHit = null; // null: no query; else lanes kept, by index

function laneText(l) {
  var s = [l.label, l.type || '', l.ino || '', l.nsid || '', l.name || '', l.ctr || ''];
  if (l.creator) s.push(l.creator.comm, l.creator.pid);
  return s.join(' ').toLowerCase();
}

// searchLanes marks the lanes q names. A number is also a pid, tid or
// parent pid, matched exactly; any text a comm or container, in part.
function searchLanes(q) {
  q = q.trim().toLowerCase();
  if (!q) return null;
  var hit = new Uint8Array(nL), num = /^\d+$/.test(q) ? +q : -1;
  var commHit = S.map(function (s) { return s.toLowerCase().indexOf(q) >= 0; });
  var ctrHit = M.containers.map(function (c) {
    return (c.label + ' ' + (c.id || '') + ' ' + (c.name || '')).toLowerCase().indexOf(q) >= 0;
  });
  for (var lane = 0; lane < nL; lane++) {
    var l = L[lane];
    if (l.k !== 'ns' || laneText(l).indexOf(q) >= 0) { hit[lane] = 1; continue; }
    for (var k = laneStart[lane]; k < laneStart[lane + 1]; k++) {
      var ev = MEv[k];
      if (ev < 0) continue;
      var r = E[ev];
      if (commHit[r[F_COMM]] || (r[F_CTR] >= 0 && ctrHit[r[F_CTR]]) ||
          r[F_PID] === num || r[F_TID] === num || r[F_PPID] === num) { hit[lane] = 1; break; }
    }
  }
  return hit;
}

function applySearch(q) {
  searchHit = searchLanes(q);
  var n = 0;
  if (searchHit) for (var i = 0; i < nL; i++) if (searchHit[i] && L[i].k === 'ns') n++;
  searchBox.setAttribute('data-hits', searchHit ? n : '');
  layoutRows();
  schedule();
}

var searchTimer = 0;
searchBox.addEventListener('input', function () {
  clearTimeout(searchTimer);
  searchTimer = setTimeout(function () { applySearch(searchBox.value); }, 150);
});
searchBox.addEventListener('keydown', function (e) {
  if (e.key === 'Escape') { searchBox.value = ''; applySearch(''); }
});

var groupBox = document.getElementById('group-by');
var groupsByType = M.groups;

// regroup orders the lanes by mode: 'type', 'container' or 'creator'.
// Within a group, lanes keep the type order; groups with most lanes come
// first, the host's before all.
function regroup(mode) {
  if (mode !== 'container' && mode !== 'creator') {
    M.groups = groupsByType;
  } else {
    var byKey = {}, keys = [], out = [];
    groupsByType.forEach(function (g) {
      if (g.name === 'attention') { out.push(g); return; }
      g.lanes.forEach(function (lane) {
        var l = L[lane], key;
        if (l.host) key = 'host';
        else if (mode === 'container') key = l.ctr || 'no container';
        else key = l.creator ? 'by ' + l.creator.comm + '[' + l.creator.pid + ']' : 'creator not seen';
        if (!byKey[key]) { byKey[key] = []; keys.push(key); }
        byKey[key].push(lane);
      });
    });
    keys.sort(function (a, b) {
      return (b === 'host') - (a === 'host') || byKey[b].length - byKey[a].length || (a < b ? -1 : a > b ? 1 : 0);
    });
    keys.forEach(function (k) { out.push({ name: mode + ':' + k, title: k, lanes: byKey[k] }); });
    M.groups = out;
  }
  groupBox.value = M.groups === groupsByType ? 'type' : mode;
  collapsed = {};
  layoutRows();
  schedule();
}
groupBox.addEventListener('change', function () { regroup(groupBox.value); });
