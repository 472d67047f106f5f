#!/usr/bin/env bash
# Installs the Debian 12 packages enwanda needs, only those missing (apt-get, as root or with sudo).
# Usage: scripts/install_deps.sh [--with-tests] [--with-sweep] [--with-fuzz]
set -euo pipefail
pkgs=(build-essential cmake pkg-config libtorch-dev libsentencepiece-dev libcli11-dev nlohmann-json3-dev
      libspdlog-dev libopenblas0-pthread)
for arg in "$@"; do
  case $arg in
    --with-tests) pkgs+=(libgtest-dev python3-torch python3-sentencepiece python3-numpy) ;;
    --with-sweep) pkgs+=(gnuplot-nox shellcheck) ;;
    --with-fuzz) pkgs+=(clang libclang-rt-14-dev) ;;
    *) echo "install_deps.sh: unknown option $arg" >&2; exit 2 ;;
  esac
done
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
sudo=""
if [ "$(id -u)" != 0 ]; then
  command -v sudo > /dev/null || { echo "install_deps.sh: need root or sudo to install: ${missing[*]}" >&2; exit 1; }
  sudo=sudo
fi
echo "installing: ${missing[*]}"
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" > /dev/null
