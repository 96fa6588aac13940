#!/bin/sh
# Build and install Citus from a source tree ($1, e.g. `git archive v13.2.2` of
# github.com/citusdata/citus) into this machine's PostgreSQL 15. docs/scaling.md §1.
set -eu
src=$1
[ -x "$src/configure" ] || { echo "CITUS_SRC=$src is not a Citus source tree (no configure)" >&2; exit 2; }
pg_config=/usr/lib/postgresql/15/bin/pg_config
# PostgreSQL 15.20 exports have_createdb_privilege() itself; Citus 13.2's compat header
# still defines it for 15: the header's copy must go.
if grep -q 'extern bool have_createdb_privilege' "$($pg_config --includedir-server)/commands/dbcommands.h" 2>/dev/null; then
    python3 - "$src/src/include/pg_version_compat.h" <<'PY'
import re, sys
path = sys.argv[1]
text = open(path).read()
text = re.sub(r"\nstatic inline bool\nhave_createdb_privilege\(void\)\n\{.*?\n\}\n", "\n", text, flags=re.S)
open(path, "w").write(text)
PY
fi
cd "$src"
[ -f Makefile.global ] || ./configure PG_CONFIG=$pg_config
make -j2
make install
