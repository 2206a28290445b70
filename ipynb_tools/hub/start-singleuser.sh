#!/bin/sh
# The entry of an ipynb-tools single-user container (LTIContainerSpawner starts it as root).
#
#   1. as root: `ipynb-tools setup` (SPEC 3.3) from the NB_* environment: the user and groups, the
#      works directory, access links, modes of task/submit volumes, personal directories, the task
#      copy, and the umask in $NB_HOME/.ipynb-tools/umask (applied by the server extension). A
#      failing step is logged (stderr and $NB_HOME/.ipynb-tools/setup.log) and the server still starts
#      (exit 1); an environment setup refuses (exit 2: a bad user name, id or path) stops the start.
#   2. drop to NB_UID:NB_GID with the user's groups (setpriv: the teachers' group NB_THRGID for a
#      teacher, none for a student, from the environment, never looked up by name), HOME=$NB_HOME, working directory =
#      $NB_WRKDIR (the Jupyter server's root). Both are set by the spawner (ipynb_tools.spec, from
#      the contract's UserPaths); this script derives no path of its own.
#   3. exec jupyterhub-singleuser "$@" (it reads JUPYTERHUB_* from the environment); with an activity
#      limit (NB_ACTLIMIT > 0) under a root `timeout` that ends it if the user turned the limit off.
#
# Started as another user (an image with USER set), it skips 1 and 2.
# IPYNB_TOOLS_PYTHON names the Python that has ipynb_tools and jupyterhub (default python3) when
# the ipynb-tools / jupyterhub-singleuser commands are not on PATH.
set -eu
py="${IPYNB_TOOLS_PYTHON:-python3}"

if command -v jupyterhub-singleuser >/dev/null 2>&1; then
  set -- jupyterhub-singleuser "$@"
else
  set -- "$py" -m jupyterhub.singleuser "$@"
fi

if [ "$(id -u)" != 0 ]; then
  exec "$@"
fi

: "${NB_USER:?start-singleuser: NB_USER is not set}"
: "${NB_UID:?start-singleuser: NB_UID is not set}"
: "${NB_GID:?start-singleuser: NB_GID is not set}"
: "${NB_HOME:?start-singleuser: NB_HOME is not set (the spawner sets it)}"
: "${NB_WRKDIR:?start-singleuser: NB_WRKDIR is not set (the spawner sets it)}"

run_setup() {
  if command -v ipynb-tools >/dev/null 2>&1; then
    ipynb-tools setup
  else
    "$py" -c 'import sys; from ipynb_tools.cli.main import main; sys.argv[0] = "ipynb-tools"; main()' setup
  fi
}
rc=0
run_setup || rc=$?
case "$rc" in
  0) ;;
  1) echo "start-singleuser: setup reported failures (see the log lines above)" >&2 ;;
  *) echo "start-singleuser: setup refused the environment (exit $rc); not starting the server" >&2
     exit "$rc" ;;
esac

export HOME="$NB_HOME" USER="$NB_USER" LOGNAME="$NB_USER"
cd "$NB_WRKDIR" 2>/dev/null || cd "$NB_HOME" 2>/dev/null || cd /

# The groups come from the environment, by the rule setup's own user-side work uses
# (ipynb_tools.start.privileges.run_as): a teacher (NB_TEACHER = NB_USER) gets the teachers' group
# NB_THRGID, a student none. Never looked up by name (`getent passwd 21001234` reads an all-digit
# login as a uid) nor by uid (several names may share one, as jovyan and the user do).
case "$NB_UID$NB_GID${NB_THRGID:-7000}" in
  *[!0-9]*) echo "start-singleuser: NB_UID, NB_GID and NB_THRGID must be numbers" >&2; exit 2 ;;
esac
if [ -n "${NB_TEACHER:-}" ] && [ "$NB_TEACHER" = "$NB_USER" ]; then
  groups="--groups=${NB_THRGID:-7000}"
else
  groups=--clear-groups
fi
set -- setpriv --reuid="$NB_UID" --regid="$NB_GID" "$groups" -- "$@"

# The activity limit, held by root (issue 16 item 7). The server extension stops the server at
# NB_ACTLIMIT + IPYNB_ACTLIMIT_GRACE with its notices, but it runs as the user, who can turn it off
# (`jupyter server extension disable --user ipynb_tools.serverext`, or a ~/.jupyter config file that
# unsets NB_ACTLIMIT) and start the server again from the course page; the hub's backstop is gone
# once the hub restarts. So `timeout`, started here as root (the user cannot signal it), ends the
# server IPYNB_ACTLIMIT_GUARD (default 60) seconds after the extension's own stop time: SIGTERM
# (jupyter_server shuts its kernels down), SIGKILL 30 s later. Whole seconds only, else no guard.
strip0() { v=$(printf '%s' "$1" | sed 's/^0*//'); printf '%s' "${v:-0}"; }
limit=$(strip0 "${NB_ACTLIMIT:-0}")
grace=$(strip0 "${IPYNB_ACTLIMIT_GRACE:-120}")
guard=$(strip0 "${IPYNB_ACTLIMIT_GUARD:-60}")
for v in "$limit" "$grace" "$guard"; do
  case "$v" in
    *[!0-9]* | ??????????*) limit=0  # not digits, or 10 digits and more (over 300 years)
       echo "start-singleuser: NB_ACTLIMIT, IPYNB_ACTLIMIT_GRACE or IPYNB_ACTLIMIT_GUARD is not whole seconds: no root guard of the activity limit" >&2
       break ;;
  esac
done
if [ "$limit" -gt 0 ]; then
  if command -v timeout >/dev/null 2>&1; then
    exec timeout --kill-after=30 "$((limit + grace + guard))" "$@"
  fi
  echo "start-singleuser: no timeout command in the image: the activity limit is held by the server extension only" >&2
fi
exec "$@"
