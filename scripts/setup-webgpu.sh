#!/usr/bin/env bash
# npm run setup:webgpu — a CPU Vulkan driver for the webgpu backend where there is no GPU (CI,
# this project's 2-core machines). Debian 12's own lavapipe (Mesa 22.3.6) is refused by Dawn
# (`Vulkan shaderUniform*ArrayDynamicIndexing required`); Mesa 25's, from Debian's
# bookworm-backports suite, works at the full feature level. It is fetched with apt from the
# mirror this machine's apt sources already name, into a private apt state under .webgpu/ (the
# system's sources are not changed), unpacked with dpkg-deb -x into .webgpu/ (git-ignored), and
# found by the backend through .webgpu/lvp_icd.json (see src/backend/webgpu/node-gpu.ts). The one
# system package it installs, when missing, is Debian's Vulkan loader libvulkan1, which Dawn
# dlopens. Idempotent: a second run only checks.
set -euo pipefail
cd "$(dirname "$0")/.."
dest=.webgpu
icd="$dest/lvp_icd.json"

if ! ldconfig -p | grep -q 'libvulkan\.so\.1 '; then
  if [[ $(id -u) -ne 0 ]]; then
    echo "setup:webgpu: the Vulkan loader libvulkan.so.1 is missing; install Debian's libvulkan1 (as root)" >&2
    exit 1
  fi
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq -o DPkg::Lock::Timeout=600 libvulkan1
fi

if [[ -f $icd ]] && [[ -f $(sed -n 's/.*"library_path": *"\([^"]*\)".*/\1/p' "$icd") ]]; then
  echo "setup:webgpu: lavapipe already in $dest ($(cat "$dest/mesa-version"))"
  exit 0
fi

# The Debian mirror of the machine's own sources (deb822 .sources or one-line sources.list).
mirror=$(cat /etc/apt/sources.list.d/*.sources 2>/dev/null |
  awk '/^URIs:/ { uri = $2 } /^Suites:/ && / bookworm( |$)/ && uri != "" { print uri; exit }')
if [[ -z $mirror ]]; then
  mirror=$(cat /etc/apt/sources.list 2>/dev/null |
    awk '$1 == "deb" && $3 == "bookworm" { print ($2 ~ /^\[/ ? $3 : $2); exit }')
fi
mirror=${mirror:-http://deb.debian.org/debian}

apt_dir="$dest/apt"
mkdir -p "$apt_dir/lists/partial" "$apt_dir/cache/archives/partial" "$dest/debs"
echo "deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] $mirror bookworm-backports main" \
  >"$apt_dir/sources.list"
apt_opts=(
  -o "Dir::Etc::SourceList=$PWD/$apt_dir/sources.list" -o "Dir::Etc::SourceParts=/nonexistent"
  -o "Dir::State::Lists=$PWD/$apt_dir/lists" -o "Dir::Cache=$PWD/$apt_dir/cache"
  -o "APT::Sandbox::User=root"
)
echo "setup:webgpu: fetching mesa-vulkan-drivers from $mirror bookworm-backports"
apt-get -qq "${apt_opts[@]}" update
(cd "$dest/debs" && rm -f mesa-vulkan-drivers_*.deb && apt-get -qq "${apt_opts[@]}" download mesa-vulkan-drivers)
deb=$(ls "$dest"/debs/mesa-vulkan-drivers_*.deb)
rm -rf "$dest/root"
dpkg-deb -x "$deb" "$dest/root"
lib="$PWD/$dest/root/usr/lib/x86_64-linux-gnu/libvulkan_lvp.so"
[[ -f $lib ]] || {
  echo "setup:webgpu: $deb holds no libvulkan_lvp.so" >&2
  exit 1
}
dpkg-deb -f "$deb" Version >"$dest/mesa-version"
# The package's manifest names the library bare (found on the system path); ours points at it.
sed "s#\"library_path\": *\"[^\"]*\"#\"library_path\": \"$lib\"#" \
  "$dest/root/usr/share/vulkan/icd.d/lvp_icd.json" >"$icd.tmp"
mv "$icd.tmp" "$icd"
echo "setup:webgpu: lavapipe $(cat "$dest/mesa-version") in $dest; the webgpu backend uses it when no GPU driver answers"
