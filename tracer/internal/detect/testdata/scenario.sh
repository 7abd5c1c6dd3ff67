set -x
cpid() { runc state $1 | python3 -c 'import json,sys;print(json.load(sys.stdin)["pid"])'; }
# ordinary use
ip netns add fixt1; ip netns exec fixt1 true; ip netns del fixt1
unshare -n -u true
unshare -m sh -c 'ip netns add fixt2; ip netns del fixt2'
runc run -d -b /tmp/bA fixA >/dev/null 2>&1 </dev/null
runc run -d -b /tmp/bB fixB >/dev/null 2>&1 </dev/null
runc exec fixA /bin/sh -c true
A=$(cpid fixA); B=$(cpid fixB)
nsenter -t $A -a true
sleep 0.2
# hostile: cross-container
nsenter -t $A -u -i -n -p -- nsenter -t $B -n true
sleep 0.2
# hostile: escape with a kept fd of the host net
exec 9</proc/self/ns/net
nsenter -t $A -a -- /bin/nsenter --net=/proc/self/fd/9 /bin/true
exec 9<&-
sleep 0.2
# hostile: unprivileged userns, and a net namespace made inside it
setpriv --reuid=65534 --regid=65534 --clear-groups unshare -U -r sh -c 'unshare -n true'
# hostile: denied, three times by one process
setpriv --reuid=65534 --regid=65534 --clear-groups sh -c 'unshare -n true; unshare -n true; exec unshare -n true' 
true
runc delete -f fixA; runc delete -f fixB
