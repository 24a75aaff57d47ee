#!/bin/sh
# net-fixtures.sh OUT - what the --net user VM tests (t_netuser_*) serve
# from their test internet, made here with the build host's git and python3:
#
#   OUT/www/index.html           "hello from www.test"
#   OUT/www/repo.git             a bare repository with one commit, ready
#                                for git's dumb HTTP protocol
#   OUT/www/simple/capsademo/    a PEP 503 index page for one package,
#   OUT/www/packages/*.whl       and its wheel
set -eu
out=$1
rm -rf "$out.tmp"
mkdir -p "$out.tmp/www/simple/capsademo" "$out.tmp/www/packages"
echo "hello from www.test" >"$out.tmp/www/index.html"

src=$(mktemp -d)
trap 'rm -rf "$src"' EXIT
git init -q "$src/repo"
echo "capsa test repository" >"$src/repo/README"
git -C "$src/repo" add README
git -C "$src/repo" -c user.name=capsa -c user.email=capsa@test commit -q -m "one commit"
git clone -q --bare "$src/repo" "$out.tmp/www/repo.git"
git -C "$out.tmp/www/repo.git" update-server-info

python3 - "$out.tmp/www" <<'PY'
import base64, hashlib, sys, zipfile
www = sys.argv[1]
name = "capsademo-1.0-py3-none-any.whl"
files = {
    "capsademo/__init__.py": b"ANSWER = 42\n",
    "capsademo-1.0.dist-info/METADATA": b"Metadata-Version: 2.1\nName: capsademo\nVersion: 1.0\n",
    "capsademo-1.0.dist-info/WHEEL": b"Wheel-Version: 1.0\nGenerator: capsa\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
}
record = ""
for path, data in files.items():
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    record += "%s,sha256=%s,%d\n" % (path, digest, len(data))
record += "capsademo-1.0.dist-info/RECORD,,\n"
with zipfile.ZipFile("%s/packages/%s" % (www, name), "w") as z:
    for path, data in files.items():
        z.writestr(zipfile.ZipInfo(path, (2020, 1, 1, 0, 0, 0)), data)
    z.writestr(zipfile.ZipInfo("capsademo-1.0.dist-info/RECORD", (2020, 1, 1, 0, 0, 0)), record)
sha = hashlib.sha256(open("%s/packages/%s" % (www, name), "rb").read()).hexdigest()
with open("%s/simple/capsademo/index.html" % www, "w") as f:
    f.write('<!DOCTYPE html><html><body><a href="../../packages/%s#sha256=%s">%s</a></body></html>\n'
            % (name, sha, name))
with open("%s/simple/index.html" % www, "w") as f:
    f.write('<!DOCTYPE html><html><body><a href="capsademo/">capsademo</a></body></html>\n')
PY
rm -rf "$out"
mv "$out.tmp" "$out"
