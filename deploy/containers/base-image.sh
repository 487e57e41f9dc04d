#!/usr/bin/env bash
# Make the Debian base image every Livefeed image starts from, without an image registry:
# `debootstrap --variant=minbase` into a tarball (kept in $LIVEFEED_CACHE_DIR and reused when
# present), then `podman import`. Prints the image name.
set -euo pipefail

suite=${DEBIAN_SUITE:-bookworm}
mirror=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
cache_dir=${LIVEFEED_CACHE_DIR:-/var/cache/livefeed}
image=${BASE_IMAGE:-localhost/livefeed-base:$suite}
tarball="$cache_dir/debian-$suite-minbase.tar"

if podman image exists "$image"; then
  echo "$image"
  exit 0
fi

if [ ! -s "$tarball" ]; then
  echo "Building the $suite base with debootstrap into $tarball…" >&2
  mkdir -p "$cache_dir"
  root=$(mktemp -d "$cache_dir/rootfs.XXXXXX")
  trap 'rm -rf "$root"' EXIT
  debootstrap --variant=minbase "$suite" "$root" "$mirror" >&2
  # Keep images small, as Debian's own slim images do: no documentation, manual pages or
  # translations, now or from packages installed later, and no downloaded .debs kept.
  cat > "$root/etc/dpkg/dpkg.cfg.d/livefeed-slim" <<'SLIM'
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/man/*
path-exclude /usr/share/info/*
path-exclude /usr/share/locale/*
path-include /usr/share/locale/locale.alias
SLIM
  cat > "$root/etc/apt/apt.conf.d/livefeed-slim" <<'SLIM'
APT::Install-Recommends "false";
DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/*.bin || true"; };
SLIM
  chroot "$root" apt-get clean
  find "$root/usr/share/doc" -mindepth 1 -not -name copyright -not -type d -delete
  rm -rf "$root"/usr/share/man/* "$root"/usr/share/info/* "$root"/var/lib/apt/lists/* "$root"/var/cache/apt/*.bin
  find "$root/usr/share/locale" -mindepth 1 -maxdepth 1 -not -name locale.alias -exec rm -rf {} +
  tar --numeric-owner -C "$root" -cf "$tarball.partial" .
  mv "$tarball.partial" "$tarball"
fi

podman import --quiet \
  --change 'CMD ["/bin/bash"]' \
  --change 'ENV LANG=C.UTF-8' \
  "$tarball" "$image" >/dev/null
echo "$image"
