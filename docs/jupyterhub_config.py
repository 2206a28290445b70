"""JupyterHub configuration for ipynb-tools courses launched from Moodle.

A complete, working configuration (the end-to-end test, tests/hub/hubrun.py, runs the same settings
on loopback). Install on the hub host:  pip install 'ipynb-tools[hub]'  and configurable-http-proxy
(scripts/install-chp.sh, or npm install -g configurable-http-proxy). Run:

    export JUPYTERHUB_CRYPT_KEY=$(openssl rand -hex 32)   # keep it: it encrypts the stored launches
    export LTI_CONSUMER_KEY=... LTI_SHARED_SECRET=...      # as entered in Moodle's external tool
    jupyterhub -f /etc/jupyterhub/jupyterhub_config.py

See docs/jupyterhub.md for what each part does and for building the single-user image.
"""

import os

from ipynb_tools.hub.embedding import configure_hub

c = get_config()  # noqa: F821  (provided by JupyterHub)

# -- where it listens -------------------------------------------------------------------------
# Behind the site's TLS reverse proxy (nginx/Apache) on the same machine.
c.JupyterHub.bind_url = "http://127.0.0.1:8000"
c.JupyterHub.hub_ip = "127.0.0.1"  # the containers use the host network and reach the hub API here
c.JupyterHub.hub_port = 8081
# After the LTI launch, go straight to the user's server (starting it).
c.JupyterHub.default_url = "/hub/spawn"
MOODLE = "https://moodle.example.ac.jp"

# -- embedding in Moodle (docs/jupyterhub.md, "Embedding in Moodle") --------------------------
# Moodle shows the activity inside its page when the launch container is "embed" (lms_iframe=1).
# One call sets the hub's Content-Security-Policy "frame-ancestors 'self' <origins>", its cookies
# SameSite=None; Secure (c.JupyterHub.tornado_settings, merged with anything set above), and
# c.LTIContainerSpawner.lms_origins, which gives every user's server the same policy and cookies.
# Secure cookies need HTTPS: the hub is served through the site's TLS proxy (or c.JupyterHub.ssl_cert/ssl_key).
configure_hub(c, [MOODLE])  # scheme://host[:port] of each LMS page that frames the hub; no paths

# -- LTI 1.1 from Moodle --------------------------------------------------------------------
c.JupyterHub.authenticator_class = "ltiauthenticator.lti11.auth.LTI11Authenticator"
c.LTI11Authenticator.consumers = {os.environ["LTI_CONSUMER_KEY"]: os.environ["LTI_SHARED_SECRET"]}
c.LTI11Authenticator.username_key = "ext_user_username"  # the Moodle login name
c.LTI11Authenticator.uri_scheme = "https"  # the launch URL Moodle signs (behind TLS termination)
# The spawner reads the custom parameters from the stored launch: auth_state must be kept
# (needs JUPYTERHUB_CRYPT_KEY).
c.Authenticator.enable_auth_state = True
c.Authenticator.allow_all = True  # everyone Moodle sends with a valid signature

# -- or LTI 1.3 (Moodle 4: "LTI 1.3" tool; the custom parameters arrive in the custom claim) --
# c.JupyterHub.authenticator_class = "ltiauthenticator.lti13.auth.LTI13Authenticator"
# c.LTI13Authenticator.issuer = MOODLE
# c.LTI13Authenticator.authorize_url = f"{MOODLE}/mod/lti/auth.php"
# c.LTI13Authenticator.jwks_endpoint = f"{MOODLE}/mod/lti/certs.php"
# c.LTI13Authenticator.client_id = {"<client id from Moodle's tool registration>"}
# c.LTI13Authenticator.username_key = "custom_username"  # add  username=$User.username  to the custom parameters

# -- the containers ---------------------------------------------------------------------------
c.JupyterHub.spawner_class = "ipynb_tools.hub.spawner.LTIContainerSpawner"
# The site's default image (lms_image empty or "default"); it must contain ipynb-tools,
# jupyterhub (same major as the hub), jupyter_server and the start script (docs/jupyterhub.md).
c.DockerSpawner.image = "registry.example.ac.jp/jupyter/ipynb-tools:2025.1"
c.LTIContainerSpawner.image_filter = "registry.example.ac.jp/jupyter/"  # lms_image must contain this
# Messages of ipynb_submit, ipynb_deploy, setup and the limit notices in Japanese (LANGUAGE=ja in every
# container; English is the fallback): docs/languages.md.
c.LTIContainerSpawner.language = "ja"
c.DockerSpawner.pull_policy = "ifnotpresent"
c.DockerSpawner.cmd = ["/usr/local/bin/start-singleuser.sh"]  # ipynb_tools/hub/start-singleuser.sh
# Host network, one loopback port per server: nothing is published on other interfaces.
c.DockerSpawner.network_name = "host"
# Homes (personal directories live in them) persist in one volume per user.
c.DockerSpawner.volumes = {"jupyterhub-home-{username}": "/home/{username}"}
# Limits when the activity sets none (lms_memlimit, lms_cpulimit override them).
c.DockerSpawner.mem_limit = "2G"
c.DockerSpawner.cpu_limit = 2.0
# Docker engine: local socket by default; a remote engine with DOCKER_HOST=ssh://user@host
# (then the hub must reach the servers: use a bridge network instead of "host").

c.LTIContainerSpawner.lms_host = "moodle.example.ac.jp"  # volume names: lms_vol_NAME_<course>_<this>
# Teachers are the users in lms_teachers (the old rule). To make every LTI Instructor a teacher too:
c.LTIContainerSpawner.teachers_by_lti_role = False
c.LTIContainerSpawner.teacher_roles = ["Instructor", "Administrator"]  # used only with teachers_by_lti_role
c.LTIContainerSpawner.thr_gid = 7000
c.LTIContainerSpawner.thr_group = "teachers"
# uid/gid/group, the old spawner's rules: the hub host's user database (LDAP via nss) when the user is
# there, else Moodle's ext_user_userid/ext_user_groupid/ext_user_groupname when sent, else 30000 +
# Moodle's user id; group users/100 when nothing says otherwise. Stable across hub database resets.
c.LTIContainerSpawner.lookup_host_users = True
c.LTIContainerSpawner.lms_user_fields = True
c.LTIContainerSpawner.uid_base = 30000
c.LTIContainerSpawner.default_gid = 100
c.LTIContainerSpawner.default_group = "users"
# The old spawner's home layout /home/<group>/<user> (docs/jupyterhub.md, "Moving from the old spawner"):
# c.LTIContainerSpawner.home_by_group = True
# c.DockerSpawner.volumes = {"/home/{group}/{username}": "/home/{group}/{username}"}

# The activity limit when the activity sets no lms_actlimit (0 = none), and the grace period after it:
# the server warns at 90%, shows "your server will stop at HH:MM", saves open notebooks, stops at limit + grace.
c.LTIContainerSpawner.actlimit_default = 6000
c.LTIContainerSpawner.actlimit_grace = 120

c.Spawner.start_timeout = 120
c.Spawner.http_timeout = 120
# Stop servers nobody uses (lms_actlimit is the hard limit per activity); needs jupyterhub-idle-culler.
# c.JupyterHub.services = [{"name": "idle-culler",
#                           "command": ["python3", "-m", "jupyterhub_idle_culler", "--timeout=3600"]}]
# c.JupyterHub.load_roles = [{"name": "idle-culler", "scopes": ["list:users", "read:users:activity",
#                             "read:servers", "delete:servers"], "services": ["idle-culler"]}]
# Execution logs (docs/execlog.md): the collector as a hub service, the servers pointed at it, launches recorded.
# c.JupyterHub.services.append({"name": "execlog", "url": "http://127.0.0.1:8765", "display": False,
#                               "command": ["ipynb-tools", "logs", "serve", "--db", "/srv/jupyterhub/execlog.sqlite"]})
# c.LTIContainerSpawner.execlog_url = "https://hub.example.ac.jp/services/execlog/"
# c.LTIContainerSpawner.execlog_db = "/srv/jupyterhub/execlog.sqlite"
