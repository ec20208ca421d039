#!/usr/bin/env bash
# Installs NVIDIA's runtime compiler (NVRTC) from Debian's non-free
# component, so that package cuda's test can compile every kernel to PTX on
# a machine without a GPU. Idempotent: when both packages are installed it
# returns at once. Needs root (apt-get); about 16 MB.
set -euo pipefail

pkgs=(libnvrtc11.2 libnvrtc-builtins11.8)
installed=1
for p in "${pkgs[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
    installed=0
  fi
done
if [ "$installed" = 1 ]; then
  exit 0
fi

sudo=
if [ "$(id -u)" != 0 ]; then
  if ! command -v sudo >/dev/null; then
    echo "install-nvrtc.sh: installing ${pkgs[*]} needs root (apt-get)" >&2
    exit 1
  fi
  sudo="sudo -n"
fi
src=/etc/apt/sources.list.d/vertebra-non-free.sources
if [ ! -e "$src" ]; then
  $sudo tee "$src" >/dev/null <<'SRC'
Types: deb
URIs: http://deb.debian.org/debian
Suites: bookworm
Components: non-free
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SRC
fi
$sudo apt-get update -qq
$sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${pkgs[@]}" >/dev/null
