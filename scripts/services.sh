#!/usr/bin/env bash
# Starts the local services the test suite talks to, if they are down:
# PostgreSQL on 127.0.0.1:5432 (with a database named test) and NATS with
# JetStream on 127.0.0.1:4222. Safe to run again and again; it says what it
# did. A service that cannot be started is an error when CI=true and a
# warning otherwise (the tests that need it will then fail or skip).
#
# Setting PARLEY_TEST_POSTGRES or PARLEY_TEST_NATS to an empty string skips
# that service, as the tests themselves then do.
set -uo pipefail

pg_host=127.0.0.1 pg_port=5432
nats_host=127.0.0.1 nats_port=4222
nats_store=/var/lib/nats-server
status=0

say() { echo "services: $*"; }

problem() {
	if [[ "${CI:-}" == "true" ]]; then
		echo "services: ERROR: $*" >&2
		status=1
	else
		echo "services: WARNING: $*" >&2
	fi
}

# wait_for CHECK SECONDS: runs CHECK every half second until it succeeds.
wait_for() {
	local check=$1 tries=$(($2 * 2))
	for ((i = 0; i < tries; i++)); do
		if $check; then return 0; fi
		sleep 0.5
	done
	return 1
}

pg_ready() { pg_isready -q -h "$pg_host" -p "$pg_port" >/dev/null 2>&1; }

# nats_ready: a NATS server greets every new connection with an INFO line.
nats_ready() {
	timeout 2 bash -c "exec 3<>/dev/tcp/$nats_host/$nats_port && head -c 4 <&3" 2>/dev/null | grep -q INFO
}

postgres() {
	if ! command -v pg_isready >/dev/null; then
		problem "PostgreSQL client tools (pg_isready) are not installed: apt-get install postgresql"
		return
	fi
	if pg_ready; then
		say "PostgreSQL is already accepting connections on $pg_host:$pg_port"
	else
		local version
		version=$(ls /etc/postgresql 2>/dev/null | sort -V | tail -n 1)
		if [[ -z "$version" ]] || ! command -v pg_ctlcluster >/dev/null; then
			problem "PostgreSQL is not running on $pg_host:$pg_port and no cluster is installed to start (apt-get install postgresql)"
			return
		fi
		say "starting PostgreSQL $version (cluster main)"
		pg_ctlcluster --skip-systemctl-redirect "$version" main start ||
			say "pg_ctlcluster exited with status $?; waiting for the port anyway"
		if ! wait_for pg_ready 30; then
			problem "PostgreSQL $version did not accept connections on $pg_host:$pg_port within 30s (see /var/log/postgresql/)"
			return
		fi
		say "PostgreSQL is accepting connections on $pg_host:$pg_port"
	fi
	local exists
	exists=$(psql -h "$pg_host" -p "$pg_port" -U postgres -d postgres -tAc \
		"SELECT 1 FROM pg_database WHERE datname = 'test'" 2>&1)
	if [[ "$exists" == "1" ]]; then
		say "database test exists"
	elif createdb -h "$pg_host" -p "$pg_port" -U postgres test; then
		say "created database test"
	else
		problem "could not create the database test as user postgres on $pg_host:$pg_port ($exists)"
	fi
}

nats() {
	if nats_ready; then
		say "NATS is already accepting connections on $nats_host:$nats_port"
		return
	fi
	if [[ ! -x /usr/sbin/nats-server ]]; then
		problem "NATS is not running on $nats_host:$nats_port and /usr/sbin/nats-server is not installed (apt-get install nats-server)"
		return
	fi
	say "starting NATS with JetStream (store $nats_store, log /var/log/nats-server.log)"
	mkdir -p "$nats_store"
	start-stop-daemon --start --oknodo --background --exec /usr/sbin/nats-server -- \
		-a "$nats_host" -p "$nats_port" -js -sd "$nats_store" -l /var/log/nats-server.log ||
		say "start-stop-daemon exited with status $?; waiting for the port anyway"
	if ! wait_for nats_ready 15; then
		problem "NATS did not accept connections on $nats_host:$nats_port within 15s (see /var/log/nats-server.log)"
		return
	fi
	say "NATS is accepting connections on $nats_host:$nats_port"
}

if [[ -n "${PARLEY_TEST_POSTGRES-unset}" ]]; then
	postgres
else
	say "PARLEY_TEST_POSTGRES is empty: not checking PostgreSQL"
fi
if [[ -n "${PARLEY_TEST_NATS-unset}" ]]; then
	nats
else
	say "PARLEY_TEST_NATS is empty: not checking NATS"
fi
exit $status
