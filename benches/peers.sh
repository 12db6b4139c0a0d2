#!/usr/bin/env bash
# ship beside Capistrano and Ansible on the same app and the same SSH targets on 127.0.0.1
# (benches/peers.rs; docs/BENCHMARKS.md says what each tool does). Installs what is missing,
# then runs the bench and, for a full run, appends its results to docs/BENCHMARKS.md.
#
#   benches/peers.sh                  # 3 runs per figure (about 20 minutes on 2 cores)
#   BENCH_RUNS=1 benches/peers.sh     # a quick look; appends nothing
#   BENCH_TOOLS=ship,ansible ...      # a subset of ship,cap,ansible
#   BENCH_APPEND=0 ...                # never append
#
# Not part of CI (.ci/run does not run it).
set -euo pipefail
cd "$(dirname "$0")/.."

ANSIBLE_CORE_VERSION=2.19.14

missing=()
[ -x /usr/sbin/sshd ] || missing+=(openssh-server)
command -v ssh >/dev/null || missing+=(openssh-client)
command -v git >/dev/null || missing+=(git)
command -v cap >/dev/null || missing+=(capistrano)   # Debian 12: Capistrano 3.17.2
command -v python3 >/dev/null || missing+=(python3)
python3 -c 'import venv, ensurepip' 2>/dev/null || missing+=(python3-venv)
if [ ${#missing[@]} -gt 0 ]; then
  echo "peers.sh: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# ansible-core alone (no collections), in a venv under target/, where the bench looks.
venv=target/ansible-venv
if ! "$venv/bin/python" -c "import ansible.release as r; assert r.__version__ == '$ANSIBLE_CORE_VERSION'" 2>/dev/null; then
  echo "peers.sh: installing ansible-core==$ANSIBLE_CORE_VERSION in $venv"
  rm -rf "$venv"
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q --disable-pip-version-check "ansible-core==$ANSIBLE_CORE_VERSION"
fi

runs=${BENCH_RUNS:-3}
if [ -z "${BENCH_APPEND:-}" ]; then
  if [ "$runs" -ge 3 ]; then BENCH_APPEND=1; else BENCH_APPEND=0; fi
fi
export BENCH_RUNS=$runs BENCH_APPEND
exec cargo bench --bench peers
