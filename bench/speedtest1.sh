#!/usr/bin/env bash
# bench/speedtest1.sh: builds SQLite's own speedtest1 from Debian's sqlite3 source,
# linked with the system libsqlite3 and a main() that can load blaze.so first.
#
#   bash bench/speedtest1.sh BUILDDIR        prints the path of the speedtest1 binary
#
# The source comes from `apt-get source sqlite3` (the version of the installed
# libsqlite3-dev), unpacked once into BUILDDIR/speedtest1/ and reused afterwards; nothing
# of it is ever committed. If no deb-src entry is configured, one is added next to the
# Debian entries (/etc/apt/sources.list.d/blaze-bench-deb-src.sources, or a .list for a
# machine with only /etc/apt/sources.list) and `apt-get update` is run. Needs root (or
# sudo) only for that, and to install dpkg-dev when apt-get source needs it.
set -euo pipefail

builddir=$(realpath "${1:?usage: speedtest1.sh BUILDDIR}")
here=$(cd "$(dirname "$0")" && pwd)
work=$builddir/speedtest1
mkdir -p "$work"

sudo_if_needed() { if ((EUID == 0)); then "$@"; else sudo "$@"; fi; }
log() { echo "speedtest1.sh: $*" >&2; }

src=$(ls -d "$work"/src/sqlite3-* 2>/dev/null | head -n1 || true)
if [[ -z "$src" || ! -f "$src/test/speedtest1.c" ]]; then
  if ! dpkg-query -W -f='${Status}' dpkg-dev 2>/dev/null | grep -q 'install ok installed'; then
    log "installing dpkg-dev (for apt-get source)"
    sudo_if_needed apt-get update -qq
    DEBIAN_FRONTEND=noninteractive sudo_if_needed \
      apt-get install -y -qq --no-install-recommends dpkg-dev >&2
  fi
  if ! apt-cache showsrc sqlite3 2>/dev/null | grep -q '^Package:'; then
    if [[ -f /etc/apt/sources.list.d/debian.sources ]]; then
      log "enabling deb-src in /etc/apt/sources.list.d/blaze-bench-deb-src.sources"
      sed 's/^Types:.*/Types: deb-src/' /etc/apt/sources.list.d/debian.sources |
        sudo_if_needed tee /etc/apt/sources.list.d/blaze-bench-deb-src.sources >/dev/null
    else
      log "enabling deb-src in /etc/apt/sources.list.d/blaze-bench-deb-src.list"
      grep -h '^deb ' /etc/apt/sources.list | sed 's/^deb /deb-src /' |
        sudo_if_needed tee /etc/apt/sources.list.d/blaze-bench-deb-src.list >/dev/null
    fi
    sudo_if_needed apt-get update -qq
  fi
  log "fetching Debian's sqlite3 source into $work/src"
  rm -rf "$work/src" && mkdir -p "$work/src"
  (cd "$work/src" && apt-get source -qq sqlite3) >&2
  src=$(ls -d "$work"/src/sqlite3-* | head -n1)
fi

bin=$work/speedtest1
if [[ ! -x "$bin" || "$src/test/speedtest1.c" -nt "$bin" ||
      "$here/speedtest1_main.cc" -nt "$bin" ]]; then
  log "compiling $src/test/speedtest1.c against the system SQLite"
  cc -O2 -w -Dmain=speedtest1_main -c "$src/test/speedtest1.c" -o "$work/speedtest1.o"
  c++ -O2 -std=c++20 -Wall -Wextra -Werror -c "$here/speedtest1_main.cc" \
    -o "$work/speedtest1_main.o"
  c++ -o "$bin" "$work/speedtest1_main.o" "$work/speedtest1.o" -lsqlite3 -lm
fi
echo "$bin"
