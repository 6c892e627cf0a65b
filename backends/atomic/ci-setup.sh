#!/usr/bin/env bash
# Atomic CRM backend: make sure the build has libclang (the pg_query crate compiles
# PostgreSQL's parser, libpg_query, and generates its bindings with bindgen), and that the test
# PostgreSQL answers and has what the tests need. Idempotent and non-interactive. Each test creates a fresh database with a unique name
# (tests/sql/schema.sql + seed.sql) and drops it afterwards; here we only check connectivity,
# check that the citext extension is installable, and create the cluster-wide roles
# (tests/sql/roles.sql, guarded) once, so that parallel tests never race to create them.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"

has_libclang() {
    if command -v dpkg >/dev/null 2>&1; then
        dpkg -s libclang-dev >/dev/null 2>&1 && return 0
    fi
    [ -n "${LIBCLANG_PATH:-}" ] && return 0
    ldconfig -p 2>/dev/null | grep -q 'libclang\(-[0-9.]*\)\?\.so' && return 0
    return 1
}
if ! has_libclang; then
    if command -v apt-get >/dev/null 2>&1; then
        SUDO=""
        [ "$(id -u)" = 0 ] || SUDO="sudo -n"
        echo "atomic: installing libclang-dev (bindgen needs it to build pg_query)"
        export DEBIAN_FRONTEND=noninteractive
        $SUDO apt-get install -y -q --no-install-recommends libclang-dev </dev/null \
            || { $SUDO apt-get update -q </dev/null && $SUDO apt-get install -y -q --no-install-recommends libclang-dev </dev/null; }
    else
        echo "atomic: libclang is missing and apt-get is not available; install libclang (clang's library) or set LIBCLANG_PATH" >&2
        exit 1
    fi
fi
echo "atomic: libclang present (pg_query builds)"

ADMIN_URL="${CRMGATE_TEST_PG_ADMIN_URL:-postgresql://postgres@127.0.0.1:5432/postgres}"
PSQL=(psql "$ADMIN_URL" -w -X -q -v ON_ERROR_STOP=1)

for _ in $(seq 1 30); do
    "${PSQL[@]}" -Atc 'select 1' >/dev/null 2>&1 && break
    sleep 0.5
done
if ! "${PSQL[@]}" -Atc 'select 1' >/dev/null; then
    echo "atomic: PostgreSQL is not reachable as the test admin (set CRMGATE_TEST_PG_ADMIN_URL)" >&2
    exit 1
fi
echo "atomic: $("${PSQL[@]}" -Atc 'show server_version')"
if [ "$("${PSQL[@]}" -Atc "select count(*) from pg_available_extensions where name = 'citext'")" != "1" ]; then
    echo "atomic: the citext extension is not available (install the PostgreSQL contrib package)" >&2
    exit 1
fi
"${PSQL[@]}" -c 'set client_min_messages = warning' -c 'select pg_advisory_lock(724391)' -f tests/sql/roles.sql -c 'select pg_advisory_unlock(724391)' >/dev/null
echo "atomic: roles ready (anon, authenticated, service_role, authenticator); tests create their own databases"
