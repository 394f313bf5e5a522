#!/usr/bin/env bash
# Makes N "hosts" on this machine as Linux network namespaces on one private switch, for
# tests of the cluster across hosts (a NATS cluster, workers, each in its own namespace).
# Standalone: it knows nothing of the product. Run as root.
set -euo pipefail

PROG=${0##*/}

usage() {
  cat <<EOF
usage: $PROG up N [--name P]                 make the switch P-sw and hosts P-h1..P-hN
       $PROG down [--name P]                 delete them, killing what still runs inside
       $PROG exec HOSTNUM [--name P] -- CMD...   run CMD in host HOSTNUM's namespace
       $PROG link HOSTNUM up|down [--name P]      plug host HOSTNUM in / cut it off the switch
       $PROG run N [--name P] -- CMD...      up, run CMD here with HOSTS_NAME and HOSTS_ADDRS
                                            exported, then down (also on failure or a signal)

Each host namespace P-hI has eth0 at 10.213.K.(I+10)/24, its peer bridged on br0 inside the
switch namespace P-sw. K (1..254) is a hash of P, so sets with different names mostly get
different subnets (easier to tell apart in logs; two sets on one subnet would not meet anyway,
each has its own switch). The root namespace gets nothing: the subnet exists only in the set.
P defaults to scih-\$\$ (this shell's pid); names may use A-Z a-z 0-9 _ . - only.
\`up\` prints one line per host: "P-hI ADDRESS" (\`run\` prints them on stderr). \`run\` starts CMD
in its own process group, killed whole on SIGINT/SIGTERM/SIGHUP: CMD cannot read the terminal.
Needs root and a working \`ip netns\`; refuses with exit 2 otherwise.
EOF
}

die() {
  echo "$PROG: $*" >&2
  exit 1
}
refuse() {
  echo "$PROG: $*" >&2
  exit 2
}

require_netns() {
  [ "$(id -u)" -eq 0 ] || refuse "must run as root: creating network namespaces needs CAP_SYS_ADMIN (uid is $(id -u))"
  command -v ip >/dev/null 2>&1 || refuse "the 'ip' command (iproute2) is not installed"
  local err
  err=$(ip netns list 2>&1 >/dev/null) || refuse "'ip netns' is not usable here: ${err:-ip netns list failed}"
}

# The third octet: a hash of the name (test/support/hosts.ts takes the addresses from `up`'s output).
subnet_octet() {
  local name=$1 h=0 j c
  for ((j = 0; j < ${#name}; j++)); do
    printf -v c '%d' "'${name:j:1}"
    h=$(((h * 31 + c) % 1000003))
  done
  echo $((h % 254 + 1))
}

address_of() { # NAME HOSTNUM
  echo "10.213.$(subnet_octet "$1").$(($2 + 10))"
}

# The namespaces of set P: exactly P-sw and P-h<number>, so `down --name a` spares a set named a-b.
namespaces_of() {
  local name=$1 ns
  ip netns list 2>/dev/null | while read -r ns _; do
    case $ns in
      "$name-sw") echo "$ns" ;;
      "$name"-h*) [[ ${ns#"$name"-h} =~ ^[0-9]+$ ]] && echo "$ns" ;;
    esac
  done
}

teardown() { # NAME
  local ns
  for ns in $(namespaces_of "$1"); do
    ip netns pids "$ns" 2>/dev/null | xargs -r kill -9 2>/dev/null || true
    ip netns del "$ns" 2>/dev/null || true
  done
}

cmd_up() { # NAME COUNT
  local name=$1 count=$2 i ns err
  err=$(ip netns add "$name-sw" 2>&1) || refuse "'ip netns add' fails here, network namespaces are not usable: $err"
  ip -n "$name-sw" link set lo up
  ip -n "$name-sw" link add br0 type bridge
  ip -n "$name-sw" link set br0 up
  for ((i = 1; i <= count; i++)); do
    ns="$name-h$i"
    ip netns add "$ns"
    ip -n "$ns" link set lo up
    # Made inside the switch namespace with its peer sent straight to the host's: no device ever
    # appears in the root namespace, not even for a moment.
    ip -n "$name-sw" link add "h$i" type veth peer name eth0 netns "$ns"
    ip -n "$name-sw" link set "h$i" master br0 up
    ip -n "$ns" addr add "$(address_of "$name" "$i")/24" dev eth0
    ip -n "$ns" link set eth0 up
  done
}

print_hosts() { # NAME COUNT
  local i
  for ((i = 1; i <= $2; i++)); do
    echo "$1-h$i $(address_of "$1" "$i")"
  done
}

ns_exists() { # NS
  local ns
  while read -r ns _; do [ "$ns" = "$1" ] && return 0; done < <(ip netns list 2>/dev/null)
  return 1
}

host_ns() { # NAME HOSTNUM
  ns_exists "$1-h$2" || die "no host $2 in set $1 (no namespace $1-h$2)"
  echo "$1-h$2"
}

[ $# -gt 0 ] || {
  usage >&2
  exit 1
}
case $1 in -h | --help | help)
  usage
  exit 0
  ;;
esac

cmd=$1
shift
name="scih-$$"
positional=()
command_args=()
while [ $# -gt 0 ]; do
  case $1 in
    -h | --help)
      usage
      exit 0
      ;;
    --name)
      [ $# -ge 2 ] || die "--name needs a value"
      name=$2
      shift 2
      ;;
    --name=*)
      name=${1#--name=}
      shift
      ;;
    --)
      shift
      command_args=("$@")
      break
      ;;
    *)
      positional+=("$1")
      shift
      ;;
  esac
done
[[ $name =~ ^[A-Za-z0-9_.][A-Za-z0-9_.-]*$ ]] || die "bad --name '$name': use A-Z a-z 0-9 _ . - only, not starting with -"

is_count() { [[ $1 =~ ^[0-9]+$ ]] && [ "$1" -ge 1 ] && [ "$1" -le 244 ]; }

case $cmd in
  up)
    [ ${#positional[@]} -eq 1 ] && is_count "${positional[0]}" || die "usage: $PROG up N [--name P] (N from 1 to 244)"
    require_netns
    ns_exists "$name-sw" && die "a host set named $name already exists ($name-sw); pick another --name or run: $PROG down --name $name"
    # A half-made set is removed (cmd_up stops at the first failing step: set -e).
    trap 'teardown "$name"' EXIT
    cmd_up "$name" "${positional[0]}"
    trap - EXIT
    print_hosts "$name" "${positional[0]}"
    ;;
  down)
    [ ${#positional[@]} -eq 0 ] || die "usage: $PROG down [--name P]"
    require_netns
    teardown "$name"
    ;;
  exec)
    [ ${#positional[@]} -eq 1 ] && [ ${#command_args[@]} -gt 0 ] || die "usage: $PROG exec HOSTNUM [--name P] -- CMD..."
    require_netns
    ns=$(host_ns "$name" "${positional[0]}")
    exec ip netns exec "$ns" "${command_args[@]}"
    ;;
  link)
    [ ${#positional[@]} -eq 2 ] && [[ ${positional[1]} =~ ^(up|down)$ ]] || die "usage: $PROG link HOSTNUM up|down [--name P]"
    require_netns
    host_ns "$name" "${positional[0]}" >/dev/null
    ip -n "$name-sw" link set "h${positional[0]}" "${positional[1]}"
    ;;
  run)
    [ ${#positional[@]} -eq 1 ] && is_count "${positional[0]}" && [ ${#command_args[@]} -gt 0 ] || die "usage: $PROG run N [--name P] -- CMD..."
    require_netns
    count=${positional[0]}
    child=""
    # The command runs as a background job in its own process group (set -m) so that a signal
    # to this script is handled at once (bash defers traps while a foreground child runs) and
    # the whole group of the command is killed, not just its first process.
    on_signal() {
      local sig=$1
      trap '' INT TERM HUP
      [ -z "$child" ] || kill -TERM -- "-$child" 2>/dev/null || true
      [ -z "$child" ] || wait "$child" 2>/dev/null || true
      trap - EXIT
      teardown "$name"
      trap - "$sig"
      kill "-$sig" $$
    }
    ns_exists "$name-sw" && die "a host set named $name already exists ($name-sw); pick another --name"
    trap 'teardown "$name"' EXIT
    trap 'on_signal INT' INT
    trap 'on_signal TERM' TERM
    trap 'on_signal HUP' HUP
    cmd_up "$name" "$count"
    print_hosts "$name" "$count" >&2
    addrs=()
    for ((i = 1; i <= count; i++)); do addrs+=("$(address_of "$name" "$i")"); done
    export HOSTS_NAME=$name HOSTS_ADDRS="${addrs[*]}"
    set -m
    "${command_args[@]}" &
    child=$!
    set +m
    rc=0
    wait "$child" || rc=$?
    child=""
    exit "$rc"
    ;;
  *)
    usage >&2
    die "unknown subcommand '$cmd'"
    ;;
esac
