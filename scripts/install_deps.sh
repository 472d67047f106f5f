#!/usr/bin/env bash
# Installs the Debian 12 packages enwanda needs, only those missing (apt-get, as root or with sudo).
# Usage: scripts/install_deps.sh [--with-tests] [--with-sweep] [--with-slurm] [--with-fuzz]
set -euo pipefail
pkgs=(build-essential cmake pkg-config libtorch-dev libsentencepiece-dev libcli11-dev nlohmann-json3-dev
      libspdlog-dev libopenblas0-openmp zlib1g-dev libpcre2-dev libutf8proc-dev)
for arg in "$@"; do
  case $arg in
    --with-tests)
      pkgs+=(libgtest-dev python3-torch python3-sentencepiece python3-numpy python3-protobuf)
      # node and npm for the tokenizer test's reference (HF tokenizers' Node binding); a Node.js
      # from elsewhere (NodeSource bundles npm, and conflicts with Debian's npm) is kept
      command -v node > /dev/null && command -v npm > /dev/null || pkgs+=(nodejs npm) ;;
    --with-sweep) pkgs+=(gnuplot-nox shellcheck jq) ;;
    # Slurm and munge for tests/cli/slurm_test.sh, which starts its own one-node cluster on localhost
    --with-slurm) pkgs+=(slurmctld slurmd slurm-client munge) ;;
    --with-fuzz) pkgs+=(clang libclang-rt-14-dev) ;;
    *) echo "install_deps.sh: unknown option $arg" >&2; exit 2 ;;
  esac
done
missing=()
for p in "${pkgs[@]}"; do
  [ "$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null)" = "install ok installed" ] || missing+=("$p")
done
# BLAS: OpenBLAS built with OpenMP shares libtorch's OpenMP threads. The pthread build runs its own
# threads beside them and both spin for the same cores: pruning ran 1.45x (hidden 1024) to 3x
# (Wanda++ on a 4-layer hidden-128 model) slower with it on this project's 2-core machine. Where
# both builds are installed, the alternatives are pointed at the OpenMP one.
blas_to_switch() {  # prints "ALTERNATIVE PATH" for each BLAS/LAPACK link not yet on the OpenMP build
  local lib name want now
  for lib in libblas.so.3 liblapack.so.3 libopenblas.so.0; do
    name=$lib-$(dpkg-architecture -qDEB_HOST_MULTIARCH 2>/dev/null || echo x86_64-linux-gnu)
    want=$(update-alternatives --list "$name" 2>/dev/null | grep /openblas-openmp/ || true)
    now=$(update-alternatives --query "$name" 2>/dev/null | sed -n 's/^Value: //p' || true)
    if [ -n "$want" ] && [ "$now" != "$want" ]; then echo "$name $want"; fi
  done
}
[ ${#missing[@]} -eq 0 ] && [ -z "$(blas_to_switch)" ] && exit 0
sudo=""
if [ "$(id -u)" != 0 ]; then
  command -v sudo > /dev/null || { echo "install_deps.sh: need root or sudo to install: ${missing[*]}" >&2; exit 1; }
  sudo=sudo
fi
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing: ${missing[*]}"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" > /dev/null
fi
blas_to_switch | while read -r name path; do
  echo "selecting OpenBLAS's OpenMP build: $name"
  $sudo update-alternatives --set "$name" "$path" > /dev/null
done
