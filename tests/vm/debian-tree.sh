#!/bin/sh
# debian-tree.sh TREE PACKAGES LOG - a Debian 12 tree for the VM test fixtures
# (blk-fixtures.sh, fs-fixtures.sh): debootstrap minbase plus PACKAGES (comma
# separated), from the mirror apt is configured with, then stripped of what a
# one-shot command does not need (docs, locales, apt lists), which keeps the
# images and trees small: they live in the emulated KVM host's RAM. Made again
# when TREE/.done (the package list) differs; LOG gets debootstrap's output.
set -eu
tree=$1 packages=$2 log=$3
suite=bookworm
[ "$(cat "$tree/.done" 2>/dev/null)" != "$packages" ] || exit 0

command -v debootstrap >/dev/null || { echo "debian-tree: debootstrap missing (sh .ci/deps)" >&2; exit 1; }
# The mirror apt already uses for the suite (no host name is written down here).
# shellcheck disable=SC2016  # $(...) is apt's syntax
m=$(apt-get indextargets --format '$(REPO_URI) $(RELEASE) $(IDENTIFIER)' 2>/dev/null |
	awk -v s="$suite" '$2 == s && $3 == "Packages" { print $1; exit }')
[ -n "$m" ] || { echo "debian-tree: no apt mirror for $suite (apt-get update?)" >&2; exit 1; }
rm -rf "$tree"
debootstrap --variant=minbase --include="$packages" "$suite" "$tree" "$m" >"$log" 2>&1 ||
	{ tail -n 20 "$log" >&2; exit 1; }
rm -rf "$tree"/usr/share/doc/* "$tree"/usr/share/man "$tree"/usr/share/info \
	"$tree"/usr/share/locale/* "$tree"/usr/share/i18n \
	"$tree"/usr/share/common-licenses "$tree"/usr/share/lintian \
	"$tree"/var/lib/apt/lists/* "$tree"/var/cache/apt/* "$tree"/var/cache/debconf/*-old \
	"$tree"/var/log/* "$tree"/usr/lib/x86_64-linux-gnu/gconv
# zoneinfo stays: PostgreSQL reads the system's time zones.
echo "$packages" >"$tree/.done"
