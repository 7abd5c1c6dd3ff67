#!/bin/bash
# Builds testdata/host: a fake root (proc/, run/, sys/fs/cgroup/) holding
# containers of each runtime, nested user namespaces, named and hostile
# netns mounts, threads, open fds, a zombie and a vanished process.
# Run from testdata/; the output is committed. Namespace facts that nsfs
# ioctls would give live in host/nsfacts (read by the tests' prober).
set -euo pipefail
cd "$(dirname "$0")"
rm -rf host && mkdir -p host/proc host/run/runc/web host/sys/fs/cgroup
echo '{"id":"web"}' >host/run/runc/web/state.json
P=host/proc
hex() { printf '%s' "$1" | sha256sum | cut -c1-64; }
DOCKER=$(hex docker) PAUSE=$(hex pause) APP=$(hex app) CRIO=$(hex crio) PODMAN=$(hex podman) OCI=$(hex oci)
POD=1c7f3a52-9a0e-4d7b-8c1a-2b3c4d5e6f70 POD2=0a1b2c3d-1111-2222-3333-444455556666

# ns PID_OR_TASKDIR type=inode...: namespace links, host ones unless given.
ns() {
	local dir=$1; shift
	declare -A n=([cgroup]=4026531835 [ipc]=4026531839 [mnt]=4026531832 [net]=4026531833
		[pid]=4026531836 [time]=4026531834 [user]=4026531837 [uts]=4026531838)
	for kv in "$@"; do n[${kv%%=*}]=${kv#*=}; done
	mkdir -p "$dir/ns"
	for t in cgroup ipc mnt net pid time user uts; do ln -s "$t:[${n[$t]}]" "$dir/ns/$t"; done
	ln -s "pid:[${n[pfc]:-${n[pid]}}]" "$dir/ns/pid_for_children"
	ln -s "time:[${n[time]}]" "$dir/ns/time_for_children"
}
# proc PID COMM UID PPID CGROUP2PATH [type=inode...]
proc() {
	local pid=$1 comm=$2 uid=$3 ppid=$4 cg=$5; shift 5
	local d=$P/$pid
	mkdir -p "$d/task/$pid"
	printf '%s\n' "$comm" >"$d/comm"
	printf 'Name:\t%s\nState:\tS (sleeping)\nTgid:\t%s\nPid:\t%s\nPPid:\t%s\nUid:\t%s\t%s\t%s\t%s\n' \
		"$comm" "$pid" "$pid" "$ppid" "$uid" "$uid" "$uid" "$uid" >"$d/status"
	printf '9:name=systemd:%s\n4:memory:%s\n0::%s\n' "$cg" "$cg" "$cg" >"$d/cgroup"
	ns "$d" "$@"
	ns "$d/task/$pid" "$@"
	mkdir -p "host/sys/fs/cgroup$cg" && echo "$pid" >>"host/sys/fs/cgroup$cg/cgroup.procs"
}

proc 1 systemd 0 0 /init.scope
proc 2 kthreadd 0 0 /
proc 100 nstrace 0 1 /user.slice/user-0.slice/session-1.scope
proc 300 sleep 0 1 "/system.slice/docker-$DOCKER.scope" mnt=4026532301 uts=4026532302 ipc=4026532303 pid=4026532304 net=4026532305
proc 310 pause 65535 1 "/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod${POD//-/_}.slice/cri-containerd-$PAUSE.scope" \
	mnt=4026532311 uts=4026532312 ipc=4026532313 pid=4026532314 net=4026532315
proc 311 app 1000 1 "/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod${POD//-/_}.slice/cri-containerd-$APP.scope" \
	mnt=4026532316 uts=4026532312 ipc=4026532313 pid=4026532317 net=4026532315
proc 320 nginx 0 1 "/kubepods/burstable/pod$POD2/crio-$CRIO" mnt=4026532321 net=4026532322
proc 321 conmon 0 1 "/kubepods/burstable/pod$POD2/crio-conmon-$CRIO"
proc 330 httpd 0 1 "/machine.slice/libpod-$PODMAN.scope/container" mnt=4026532331 net=4026532332 pid=4026532333
proc 340 web 0 1 /web mnt=4026532341 net=4026532342
proc 341 busybox 0 1 "/$OCI" mnt=4026532343 net=4026532344
# Rootless runc without cgroup delegation: known by its state directory;
# and a stale state file whose pid now names another process.
proc 345 sh 1000 1 /user.slice/user-1000.slice/user@1000.service/app.slice/term.service mnt=4026532345 net=4026532346
proc 346 cron 0 1 /system.slice/cron.service mnt=4026532347
stat() { printf '%s (%s) S 1 %s %s 0 -1 4194560 0 0 0 0 0 0 0 0 20 0 1 0 %s 0 0\n' "$1" "$2" "$1" "$1" "$3" >$P/$1/stat; }
stat 345 'sh (x)' 777 && stat 346 cron 999
mkdir -p host/run/user/1000/runc/rootless1 host/run/runc/stale
echo '{"id":"rootless1","init_process_pid":345,"init_process_start":777}' >host/run/user/1000/runc/rootless1/state.json
echo '{"id":"stale","init_process_pid":346,"init_process_start":1}' >host/run/runc/stale/state.json
proc 350 init 0 1 '/machine.slice/machine-my\x2dbox.scope/payload' mnt=4026532351 net=4026532352 pid=4026532353 uts=4026532354
proc 360 nginx 33 1 /system.slice/nginx.service mnt=4026532361 net=4026532362
# A rootless sandbox: user 4026532372 nested in 4026532371, which has no
# process of its own (only its child keeps it).
proc 370 bwrap 1000 1 /user.slice/user-1000.slice/session-2.scope user=4026532372 net=4026532373 mnt=4026532374
# A zombie: its ns links no longer resolve.
mkdir -p $P/380/ns $P/380/task/380 && printf 'zombie\n' >$P/380/comm
printf 'Name:\tzombie\nState:\tZ (zombie)\nPPid:\t1\nUid:\t0\t0\t0\t0\n' >$P/380/status
# Unreadable: the tests' readlink refuses /proc/390 with EACCES.
proc 390 secret 0 1 / net=4026532391
# A thread that moved into another network namespace.
proc 400 agent 0 1 /system.slice/agent.service
mkdir -p $P/400/task/401 && ns $P/400/task/401 net=4026532401
# Open fds: a netns held only by an fd, and fds that are not namespaces.
proc 500 holder 0 1 /system.slice/holder.service
mkdir $P/500/fd
ln -s 'net:[4026532501]' $P/500/fd/3 && ln -s 'socket:[12345]' $P/500/fd/4 && ln -s /dev/null $P/500/fd/5
# unshare -p without a fork: a pid namespace with no member yet.
proc 510 unshare 0 1 /user.slice/user-0.slice/session-1.scope pfc=4026532511
# Vanished between readdir and read: only an empty cmdline is left.
mkdir -p $P/600 && : >$P/600/cmdline

ln -s 100 $P/self
esc=$'\033]0;x\a'
cat >$P/100/mountinfo <<MI
22 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw
25 22 0:23 / /sys/fs/cgroup rw,nosuid shared:9 - cgroup2 cgroup2 rw
26 22 0:24 / /run rw,nosuid shared:10 - tmpfs tmpfs rw
42 26 0:24 /netns /run/netns rw,nosuid shared:11 - tmpfs tmpfs rw
43 42 0:4 net:[4026532177] /run/netns/sample1 rw shared:12 - nsfs nsfs rw
44 42 0:4 net:[4026532178] /run/netns/$esc rw shared:13 - nsfs nsfs rw
45 42 0:4 net:[4026532179] /run/netns/we\\040ird\\012name rw shared:14 - nsfs nsfs rw
46 26 0:4 net:[4026532305] /run/docker/netns/abc123 rw shared:15 - nsfs nsfs rw
47 22 0:4 mnt:[4026532180] /tmp/keep\\040me/mnt_ns rw - nsfs nsfs rw
48 22 0:4 garbage /x rw - nsfs nsfs rw
not a mount line
MI
cp $P/100/mountinfo $P/1/mountinfo
cat >$P/310/mountinfo <<'MI'
600 500 0:50 / / rw - overlay overlay rw
601 600 0:4 net:[4026532181] /var/run/netns/cni-1234 rw - nsfs nsfs rw
MI

cat >host/nsfacts <<'NF'
# type inode ns_id owner parent owner_uid (- for none)
mnt 4026531832 4 4026531837 - -
net 4026531833 3 4026531837 - -
net 4026532177 4101 4026531837 - -
time 4026531834 2 4026531837 - -
cgroup 4026531835 5 4026531837 - -
pid 4026531836 4100 4026531837 - -
user 4026531837 4099 - - 0
uts 4026531838 1 4026531837 - -
ipc 4026531839 4098 4026531837 - -
user 4026532371 5001 4026531837 4026531837 1000
user 4026532372 5002 4026532371 4026532371 1000
net 4026532373 5003 4026532372 - -
mnt 4026532374 5004 4026532372 - -
pid 4026532304 5005 4026531837 4026531836 -
NF
