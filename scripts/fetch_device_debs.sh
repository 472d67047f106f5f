#!/usr/bin/env bash
# Run HERE (Debian 12, with network to Debian's mirror): downloads the .deb files the GPU machine
# needs besides the PyTorch wheel's libtorch into .deps/debs/ (ignored by git; carry it with the
# device tool: carry [".deps"]). scripts/device_build.sh unpacks them there with dpkg -x.
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p .deps/debs
cd .deps/debs
apt-get download libsentencepiece-dev libsentencepiece0 libcli11-dev nlohmann-json3-dev libspdlog-dev libspdlog1.10 zlib1g-dev \
  libfmt-dev libfmt9 libgtest-dev pkgconf-bin libpkgconf3 libpcre2-dev libpcre2-8-0 libutf8proc-dev libutf8proc2
ls -la
