#!/usr/bin/env bash
# cbtrack oma: the MariaDB password from --db-password-file,
# CBTRACK_DB_PASSWORD, a systemd credential, or (warned about) the URL.
# Neither the process's argv (/proc/PID/cmdline) nor any log line nor any
# error shows it, and SIGHUP re-reads the password file without stopping
# the OMA.
. "$(dirname "$0")/functions.sh" || exit 1
requires curl --version
make_tmpdir
start_mariadb db

pw="Pw-$RANDOM-zq9x"
mariadb --no-defaults -S "$db_sock" -u root -e "
    CREATE USER 'cbt'@'localhost' IDENTIFIED BY '$pw';
    GRANT ALL ON cbtrack.* TO 'cbt'@'localhost';"
url="mysql://cbt@localhost/cbtrack?socket=$db_sock"
printf '%s\n' "$pw" >"$tmp/pw"

# no_password PID LOG: the password is in neither the argv nor the log.
no_password ()
{
    if tr '\0' ' ' <"/proc/$1/cmdline" | grep -qF -- "$pw"; then
        fail "/proc/$1/cmdline shows the password"
    fi
    if grep -qF -- "$pw" "$2"; then
        cat "$2" >&2
        fail "the log shows the password"
    fi
}

# registers: a job can be registered (the store works with the password).
registers ()
{
    local id=$1 code
    code=$(curl -s -o /dev/null -w '%{http_code}' \
        -d "{\"id\":\"$id\",\"vma_url\":\"http://127.0.0.1:9\"}" \
        "http://127.0.0.1:$port/api/v1/replications")
    [ "$code" = 201 ] || fail "registering $id answered $code"
}

# --db-password-file, and SIGHUP re-reading it.
start_service pid port "$tmp/file.log" "$CBTRACK" oma --db "$url" \
    --db-password-file "$tmp/pw" --poll-interval 1h --allow-vma "127.0.0.1:*"
registers job-file
no_password "$pid" "$tmp/file.log"
kill -HUP "$pid"
wait_for 10 grep -q 'SIGHUP: re-read the database password' \
    "$tmp/file.log" || { cat "$tmp/file.log" >&2; fail "no reload logged"; }
rm "$tmp/pw"
kill -HUP "$pid"
wait_for 10 grep -q 'SIGHUP: cannot re-read the database password' \
    "$tmp/file.log" || { cat "$tmp/file.log" >&2; fail "no failure logged"; }
kill -0 "$pid" || fail "SIGHUP killed the OMA"
registers job-file-2
printf '%s\n' "$pw" >"$tmp/pw"
no_password "$pid" "$tmp/file.log"
stop_service "$pid" "$tmp/file.log"

# CBTRACK_DB_PASSWORD.
CBTRACK_DB_PASSWORD=$pw start_service pid port "$tmp/env.log" \
    "$CBTRACK" oma --db "$url" --poll-interval 1h --allow-vma "127.0.0.1:*"
registers job-env
no_password "$pid" "$tmp/env.log"
stop_service "$pid" "$tmp/env.log"

# A systemd credential (LoadCredential=db-password:...).
mkdir "$tmp/creds"
cp "$tmp/pw" "$tmp/creds/db-password"
CREDENTIALS_DIRECTORY=$tmp/creds start_service pid port "$tmp/cred.log" \
    "$CBTRACK" oma --db "$url" --poll-interval 1h --allow-vma "127.0.0.1:*"
registers job-cred
no_password "$pid" "$tmp/cred.log"
stop_service "$pid" "$tmp/cred.log"

# In the URL: it works, is warned about, and is blanked from the argv.
start_service pid port "$tmp/url.log" "$CBTRACK" oma \
    --db "mysql://cbt:$pw@localhost/cbtrack?socket=$db_sock" \
    --poll-interval 1h --allow-vma "127.0.0.1:*"
registers job-url
grep -q 'warning: the --db URL holds a password' "$tmp/url.log" ||
    fail "no warning about the password in the URL"
no_password "$pid" "$tmp/url.log"
stop_service "$pid" "$tmp/url.log"

# Errors never show it: a wrong password, a malformed URL.
expect_exit 1 "$CBTRACK" oma --listen 127.0.0.1:0 \
    --db "mysql://cbt:wrong-$pw@localhost/cbtrack?socket=$db_sock"
if grep -qF -- "$pw" "$tmp/stderr"; then fail "a refused login shows it"; fi
expect_exit 2 "$CBTRACK" oma --db "mysql://cbt:$pw@localhost"
expect_stderr "mysql://cbt:\*\*\*@localhost"
if grep -qF -- "$pw" "$tmp/stderr"; then fail "a bad URL shows it"; fi
expect_exit 1 "$CBTRACK" oma --db "$url" --db-password-file "$tmp/none"
expect_stderr "$tmp/none"
