# shellcheck shell=bash
# Ports for the servers of scripts/servers, sourced by each (this file is not executable, so
# scripts/test-servers does not run it as a server).
#
#   pick_ports NAME N [RUN]   N ports on 127.0.0.1 for NAME's servers, then, with RUN, the
#                             first of RUN consecutive ones (a passive range)
#   pick_port NAME I          one port: NAME's I-th (0, 1, ...) with a base, else a free one
#
# With POSTHASTE_TEST_PORT_BASE=B the ports are fixed, after the vsftpd window B..B+349 of
# scripts/test-servers: dovecot B+350.., smtp B+360.., proxy B+370.., certauth B+380.. and its
# passive range B+400..B+449; a port already taken is an error naming it. Without it, the
# kernel chooses free ports (and the run is chosen at random between 40000 and 60000).

PORTS_WINDOW=450 # B..B+449 in all

pick_ports() { # name n [run]
  _pick_ports "$1" 0 "$2" "${3:-0}"
}

pick_port() { # name index
  _pick_ports "$1" "$2" 1 0
}

_pick_ports() { # name first_index n run
  local name=$1 first=$2 n=$3 run=$4 base=${POSTHASTE_TEST_PORT_BASE:-} off
  if [ -n "$base" ]; then
    case "$name" in
      dovecot) off=350 ;;
      smtp) off=360 ;;
      proxy) off=370 ;;
      certauth) off=380 ;;
      *) echo "pick_ports: no ports set aside for $name" >&2; return 1 ;;
    esac
    /usr/bin/python3 - "$name" "$((base + off + first))" "$n" "$((base + 400))" "$run" <<'PY'
import socket, sys
name, first, n, run_first, run = sys.argv[1], *map(int, sys.argv[2:])
ports = list(range(first, first + n))
want = ports + list(range(run_first, run_first + run))
busy = []
for p in want:
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        s.bind(("127.0.0.1", p))
    except OSError:
        busy.append(str(p))
    finally:
        s.close()
if busy:
    sys.exit(f"{name}: POSTHASTE_TEST_PORT_BASE: port(s) {' '.join(busy)} on 127.0.0.1 are in use")
print(" ".join(map(str, ports + ([run_first] if run else []))))
PY
    return
  fi
  /usr/bin/python3 - "$n" "$run" <<'PY'
import random, socket, sys
n, run = int(sys.argv[1]), int(sys.argv[2])
socks = []
for _ in range(n):
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    socks.append(s)
ports = [s.getsockname()[1] for s in socks]
if run == 0:
    print(" ".join(map(str, ports)))
    sys.exit(0)
for _ in range(200):
    base = random.randrange(40000, 60000 - run)
    held = []
    try:
        for p in range(base, base + run):
            s = socket.socket()
            s.bind(("127.0.0.1", p))
            held.append(s)
    except OSError:
        continue
    finally:
        for s in held:
            s.close()
    if len(held) == run and not set(range(base, base + run)) & set(ports):
        print(" ".join(map(str, ports)), base)
        sys.exit(0)
sys.exit("no run of free ports")
PY
}
