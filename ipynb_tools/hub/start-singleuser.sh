#!/bin/sh
# The entry of an ipynb-tools single-user container (LTIContainerSpawner starts it as root).
#
#   1. as root: `ipynb-tools setup` (SPEC 3.3) from the NB_* environment: the user and groups, the
#      works directory, access links, modes of task/submit volumes, personal directories, the task
#      copy, and the umask in $NB_HOME/.ipynb-tools/umask (applied by the server extension). A
#      failing step is logged (stderr and $NB_HOME/.ipynb-tools/setup.log) and the server still starts.
#   2. drop to NB_UID:NB_GID with the user's groups (setpriv), HOME=$NB_HOME, working directory =
#      $NB_WRKDIR (the Jupyter server's root). Both are set by the spawner (ipynb_tools.spec, from
#      the contract's UserPaths); this script derives no path of its own.
#   3. exec jupyterhub-singleuser "$@" (it reads JUPYTERHUB_* from the environment).
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

if command -v ipynb-tools >/dev/null 2>&1; then
  ipynb-tools setup || echo "start-singleuser: setup reported failures (see the log lines above)" >&2
else
  "$py" -c 'import sys; from ipynb_tools.cli.main import main; sys.argv[0] = "ipynb-tools"; main()' setup \
    || echo "start-singleuser: setup reported failures (see the log lines above)" >&2
fi

export HOME="$NB_HOME" USER="$NB_USER" LOGNAME="$NB_USER"
cd "$NB_WRKDIR" 2>/dev/null || cd "$NB_HOME" 2>/dev/null || cd /

if getent passwd "$NB_USER" >/dev/null 2>&1; then
  groups=--init-groups
else
  groups=--clear-groups
fi
exec setpriv --reuid="$NB_UID" --regid="$NB_GID" "$groups" -- "$@"
