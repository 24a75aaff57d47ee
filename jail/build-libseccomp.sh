#!/bin/sh
# jail/build-libseccomp.sh BUILD_DIR -- build a static, musl-linked
# libseccomp from Debian's source package, for linking into capsa.
#
# Produces (everything under BUILD_DIR, nothing in the source tree):
#   BUILD_DIR/kinc/                 kernel-header shim for musl-gcc:
#       linux -> /usr/include/linux, asm -> /usr/include/<multiarch>/asm,
#       asm-generic -> /usr/include/asm-generic, video -> /usr/include/video
#       (asm/bootparam.h needs it), mtd -> /usr/include/mtd
#     (musl-gcc's specs file drops /usr/include, so <linux/*.h> is not found
#      without it; capsa itself is compiled with the same -isystem BUILD_DIR/kinc)
#   BUILD_DIR/seccomp/lib/libseccomp.a, BUILD_DIR/seccomp/include/seccomp.h, ...
#   BUILD_DIR/cache/libseccomp/     downloaded + unpacked source, object dir
#
# Cached: if BUILD_DIR/seccomp/lib/libseccomp.a exists only kinc/ is (re)checked.
# Needs: .ci/deps run first (musl-tools, dpkg-dev, gperf, deb-src apt sources).
#
# Usage:  sh jail/build-libseccomp.sh build
# Link:   musl-gcc -static -isystem build/kinc -I build/seccomp/include \
#             ... build/seccomp/lib/libseccomp.a
set -eu

if [ $# -ne 1 ] || [ -z "$1" ]; then
    echo "usage: $0 BUILD_DIR" >&2
    exit 2
fi
mkdir -p "$1"
BUILD=$(cd "$1" && pwd)                 # absolute: we cd around below
KINC=$BUILD/kinc
PREFIX=$BUILD/seccomp
CACHE=$BUILD/cache/libseccomp

# --- kernel header shim (cheap; always made so capsa's build can use it) ----
multiarch=$(gcc -print-multiarch 2>/dev/null || true)
[ -n "$multiarch" ] || multiarch=x86_64-linux-gnu
mkdir -p "$KINC"
for pair in linux:/usr/include/linux \
            asm:/usr/include/$multiarch/asm \
            asm-generic:/usr/include/asm-generic \
            video:/usr/include/video \
            mtd:/usr/include/mtd; do
    name=${pair%%:*} target=${pair#*:}
    if [ ! -d "$target" ]; then
        [ "$name" = mtd ] && continue   # optional
        echo "$0: $target missing (apt-get install linux-libc-dev)" >&2
        exit 1
    fi
    ln -sfn "$target" "$KINC/$name"     # -n: replace the link, not enter it
done

# --- cache hit --------------------------------------------------------------
if [ -f "$PREFIX/lib/libseccomp.a" ]; then
    exit 0
fi

command -v musl-gcc >/dev/null || { echo "$0: musl-gcc missing; run .ci/deps" >&2; exit 1; }

# --- fetch + unpack Debian's source package (applies debian/patches) -------
mkdir -p "$CACHE"
cd "$CACHE"
find_src() {                            # unpacked tree with a configure
    src=""
    for d in libseccomp-*/; do
        if [ -x "$d/configure" ]; then src=${d%/}; fi
    done
}
find_src
if [ -z "$src" ]; then
    rm -rf libseccomp-*/                # a half-unpacked earlier attempt
    echo "build-libseccomp: apt-get source libseccomp"
    # Sandbox::User=root: as root apt otherwise warns that '_apt' cannot
    # write here ("Download is performed unsandboxed as root").
    # dpkg-source unpacks the orig tarball and applies debian/patches.
    if ! apt-get source -qq -o APT::Sandbox::User=root libseccomp >fetch.log 2>&1; then
        cat fetch.log >&2
        echo "$0: apt-get source failed; run .ci/deps (needs deb-src + dpkg-dev)" >&2
        exit 1
    fi
    find_src
    [ -n "$src" ] || { echo "$0: no libseccomp-*/configure after unpack" >&2; exit 1; }
fi
SRC=$CACHE/$src
echo "build-libseccomp: building $(basename "$SRC") with musl-gcc"

# --- configure + build out of tree, install into a staging dir ------------
# A fresh object dir each time: a half-finished earlier attempt is discarded.
OBJ=$CACHE/obj
STAGE=$CACHE/stage
rm -rf "$OBJ" "$STAGE"
mkdir -p "$OBJ"
cd "$OBJ"
# --disable-python: no cython bindings.  --enable-static --disable-shared:
# only libseccomp.a.  -isystem kinc: <linux/seccomp.h>, <asm/unistd.h>...
if ! "$SRC/configure" -q \
        --prefix="$PREFIX" \
        --enable-static --disable-shared --disable-python \
        CC=musl-gcc \
        CFLAGS="-O2 -g0 -isystem $KINC" >configure.log 2>&1; then
    cat configure.log >&2; exit 1
fi
# Only the library, headers and .pc file: skip tools/, tests/, doc/.
jobs=$(nproc 2>/dev/null || echo 2)
if ! { make -j"$jobs" -C src &&
       make -C src install DESTDIR="$STAGE" &&
       make -C include install DESTDIR="$STAGE" &&
       make install-pkgconfDATA DESTDIR="$STAGE"
     } >make.log 2>&1; then
    tail -n 40 make.log >&2; exit 1
fi
rm -f "$STAGE$PREFIX/lib/libseccomp.la"  # libtool archive: useless here
# Atomic publish: libseccomp.a appears only once everything succeeded.
rm -rf "$PREFIX"
mv "$STAGE$PREFIX" "$PREFIX"
rm -rf "$STAGE"
echo "build-libseccomp: installed $PREFIX/lib/libseccomp.a"
