# Flags podman needs inside a sandbox like this project's CI machine: cgroups v1/v2 hybrid (crun refuses it, runc with
# cgroupfs works) and no CAP_SYS_RESOURCE (the container's limits must not exceed the caller's).
PODMAN_GLOBAL="--runtime runc --cgroup-manager cgroupfs"
nofile=$(ulimit -Hn)
[ "$nofile" = unlimited ] && nofile=1048576
PODMAN_LIMITS="--ulimit nofile=$nofile:$nofile --ulimit nproc=4096:4096"
