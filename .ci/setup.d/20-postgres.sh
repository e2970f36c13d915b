# PostgreSQL for the service's tests (`cli/tests/serve.rs` runs its storage tests on SQLite and on
# PostgreSQL): Debian's server, a cluster of our own in a temporary directory, listening on
# 127.0.0.1 on a free port, trusted locally; exports EREJE_TEST_POSTGRES_URL. Sourced by .ci/run.
ereje_postgres_setup() {
  if ! ls -d /usr/lib/postgresql/*/bin >/dev/null 2>&1; then
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends postgresql >/dev/null \
      || { echo "warning: postgresql could not be installed"; return 0; }
  fi
  local bin dir port
  bin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
  dir=$(mktemp -d /tmp/ereje-postgres.XXXXXX)
  chown postgres "$dir"
  port=15432
  while (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; do port=$((port + 1)); done
  su postgres -s /bin/sh -c "'$bin/initdb' -D '$dir/data' -A trust -U postgres" >/dev/null
  su postgres -s /bin/sh -c "'$bin/pg_ctl' -D '$dir/data' -l '$dir/log' -w \
      -o \"-c listen_addresses=127.0.0.1 -p $port -k '$dir' -c max_connections=200\" start" >/dev/null
  su postgres -s /bin/sh -c "'$bin/createdb' -h 127.0.0.1 -p $port ereje_test"
  export EREJE_TEST_POSTGRES_URL="postgres://postgres@127.0.0.1:$port/ereje_test"
  echo "PostgreSQL on 127.0.0.1:$port ($dir)"
}
ereje_postgres_setup
