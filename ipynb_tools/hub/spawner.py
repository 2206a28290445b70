"""``LTIContainerSpawner``: a DockerSpawner that starts the container an LTI launch asks for (SPEC 6).

At each start it reads the user's ``auth_state`` (stored by jupyterhub-ltiauthenticator, LTI 1.1
or 1.3; needs ``c.Authenticator.enable_auth_state = True``), reads the ``lms_*`` custom
parameters (:mod:`ipynb_tools.launch`), refuses a launch whose parameters have errors with a
message the user sees on the hub's page, decides the role (the old system's rule: the users in
``lms_teachers``; with :attr:`LTIContainerSpawner.teachers_by_lti_role` also an LTI role in
:attr:`LTIContainerSpawner.teacher_roles`; the rule that decided is logged and shown on the
hub's start page), and applies :func:`ipynb_tools.spec.build_spec`'s
container spec: image, memory and CPU limits, the course's task and submit volumes (created with
their labels when missing), the NB_* start environment, labels, the default URL and the name
``jupyterhub-<course>-<lti id>-<host>-<random>-<user>``. The activity limit (``lms_actlimit``, else
:attr:`LTIContainerSpawner.actlimit_default`; 0 = none) goes to the container as ``NB_ACTLIMIT`` with
the grace period ``IPYNB_ACTLIMIT_GRACE``: the server extension (:mod:`ipynb_tools.serverext.limits`)
warns at 90% and stops the server at limit + grace; the hub stops it too, a little later, as a backstop.

With ``network_name = "host"`` every server gets its own free port on 127.0.0.1 (the hub and the
proxy reach it there; nothing listens on other interfaces).

The container runs as root so that ``ipynb-tools setup`` can prepare it; its command must then
start the server as ``NB_USER``: ``ipynb_tools/hub/start-singleuser.sh`` does both.
See ``docs/jupyterhub.md``.
"""

from __future__ import annotations

import asyncio
from typing import Any

from dockerspawner import DockerSpawner
from jupyterhub.utils import random_port
from tornado import web
from traitlets import Bool, Callable, Int, List, TraitError, Unicode, default, validate

from ..environ import DEFAULT_HOME_ROOT, DEFAULT_THRGID, DEFAULT_THRGROUP
from ..environ.variables import DEFAULT_ACTLIMIT, DEFAULT_ACTLIMIT_GRACE, IPYNB_ACTLIMIT_GRACE, NB_ACTLIMIT
from ..errors import IpynbToolsError
from ..execlog.store import Launch as ExecLaunch
from ..i18n import container_environment
from ..identity import DEFAULT_GID, DEFAULT_GROUP, DEFAULT_UID_BASE, Identity, resolve_identity
from ..launch import DEFAULT_TEACHER_ROLES, Launch, LaunchError, read_launch, refusal, teacher_rule
from ..params.resources import CPU_SHARES_PER_CPU
from ..spec import DEFAULT_URL, ContainerSpec, build_spec
from .embedding import COOKIE_OPTIONS, Embedding, OriginError, parse_origins


class LaunchRefused(web.HTTPError):
    """A launch that must not start a container; ``jupyterhub_message`` is shown on the hub's page."""

    def __init__(self, message: str) -> None:
        super().__init__(400, "%s", message)
        self.jupyterhub_message = message


class LTIContainerSpawner(DockerSpawner):
    """DockerSpawner + the LTI custom parameters -> the ipynb-tools container spec."""

    lms_host = Unicode(
        "",
        config=True,
        help="""The LMS host name used in volume names (lms_<kind>_<NAME>_<course>_<host>).
        Empty: from the launch (lms_serverurl, then the platform id Moodle sends, then the return URL).""",
    )
    teachers_by_lti_role = Bool(
        False,
        config=True,
        help="""Also make a teacher of every user whose LTI role is one of teacher_roles (e.g. Moodle's
        Instructor, which includes non-editing teachers and teaching assistants). Off: the old system's
        rule, only the users in lms_teachers are teachers (SPEC 12).""",
    )
    teacher_roles = List(
        Unicode(),
        default_value=list(DEFAULT_TEACHER_ROLES),
        config=True,
        help="""With teachers_by_lti_role: the LTI roles (the last part of the role URI, case-insensitive)
        that make a teacher besides lms_teachers.""",
    )
    thr_gid = Int(DEFAULT_THRGID, config=True, help="The teachers' group id in the containers (NB_THRGID).")
    thr_group = Unicode(DEFAULT_THRGROUP, config=True, help="The teachers' group name (NB_THRGROUP).")
    lookup_host_users = Bool(
        True,
        config=True,
        help="""Rule 1 of the uid (the old spawner's): the hub host's user database (passwd, LDAP via nss)
        when the user is there; uid, gid, and the group name of that gid.""",
    )
    lms_user_fields = Bool(
        True,
        config=True,
        help="""Rule 2: the LMS's extension fields when the launch carries them (a patched Moodle sends
        ext_user_userid, ext_user_groupid, ext_user_groupname): uid, gid and group name.""",
    )
    uid_base = Int(
        DEFAULT_UID_BASE,
        config=True,
        help="""Rule 3: uid = uid_base + the LMS user_id of the launch (Moodle's user id). Stable across
        hub database resets (the old spawner's base_id, 30000).""",
    )
    default_gid = Int(DEFAULT_GID, config=True, help="The gid of users whose group no rule gives (100).")
    default_group = Unicode(
        DEFAULT_GROUP, config=True, help="The group name of users whose group no rule gives (NB_GROUP; 'users')."
    )
    user_ids = Callable(
        None,
        allow_none=True,
        config=True,
        help="""A function (spawner) -> (uid, gid) or (uid, gid, group name) that replaces the rules above
        (e.g. an LDAP lookup); spawner.launch is the launch being started.""",
    )
    home_root = Unicode(
        DEFAULT_HOME_ROOT,
        config=True,
        help="Where homes are inside the container (home = <home_root>/<user>, NB_HOME).",
    )
    home_by_group = Bool(
        False,
        config=True,
        help="""The old spawner's home layout: home = <home_root>/<group>/<user> (NB_HOME, NB_DIR). The site's
        DockerSpawner.volumes can use {group} (e.g. {"/home/{group}/{username}": "/home/{group}/{username}"}).""",
    )
    image_filter = Unicode(
        "",
        config=True,
        help="""When set, an lms_image must contain this text (sites offer only their own images).
        The site default image (DockerSpawner.image) is always allowed.""",
    )
    create_volumes = Bool(
        True, config=True, help="Create missing task and submit volumes, with their course labels, before starting."
    )
    enforce_actlimit = Bool(
        True,
        config=True,
        help="""Also stop the server from the hub (a backstop for images without the server extension):
        actlimit_backstop seconds after the container's own stop at the activity limit plus actlimit_grace.""",
    )
    actlimit_default = Int(
        DEFAULT_ACTLIMIT,
        config=True,
        help="""The activity limit in seconds when the activity sets no lms_actlimit (SPEC 12: the old spawner's
        6,000 s); 0 = no limit. An lms_actlimit of 0 is "no limit" too, never this default. Passed to the container
        as NB_ACTLIMIT: the server extension warns at 90% and stops the server at the limit plus actlimit_grace.""",
    )
    actlimit_grace = Int(
        DEFAULT_ACTLIMIT_GRACE,
        config=True,
        help="""Seconds between the activity limit and the server's stop (SPEC 12: 120 s), during which the user
        sees a sticky "your server will stop at HH:MM" notice and the open notebooks are saved
        (IPYNB_ACTLIMIT_GRACE in the container).""",
    )
    actlimit_backstop = Int(
        30,
        config=True,
        help="""With enforce_actlimit: seconds the hub waits after the container's own stop time (limit + grace)
        before it stops the server itself.""",
    )
    host_network_ip = Unicode(
        "127.0.0.1", config=True, help="With network_name = 'host': the address the single-user server listens on."
    )
    execlog_url = Unicode(
        "",
        config=True,
        help="""The execution-log collector the servers post to (IPYNB_EXECLOG_URL in the container), e.g.
        https://hub.example.ac.jp/services/execlog/ . Empty: no capture (docs/execlog.md).""",
    )
    execlog_source = Bool(
        False, config=True, help="Also collect the source of executed cells (IPYNB_EXECLOG_SOURCE=1); off for privacy."
    )
    execlog_db = Unicode(
        "",
        config=True,
        help="""The collector's store (a SQLAlchemy URL or SQLite path): each launch (user, course, LTI activity)
        is recorded there, so records are attributed by the hub, never by what a client claims.""",
    )

    lms_origins = List(
        Unicode(),
        config=True,
        help="""The LMS origins allowed to show the user's server in their page (Moodle's "embed" launch
        container, lms_iframe=1), each scheme://host[:port], e.g. ["https://moodle.example.ac.jp"]. The
        server then sends "Content-Security-Policy: frame-ancestors 'self' <origins>" and sets its
        cookies SameSite=None; Secure (the hub must be served over HTTPS). Empty: no embedding, only
        the hub's own pages may frame the server. Set it, and the hub's own settings, with
        ipynb_tools.hub.embedding.configure_hub(c, origins) (docs/jupyterhub.md, "Embedding in Moodle").""",
    )
    lms_origins_wildcards = Bool(
        False,
        config=True,
        help="Allow wildcard hosts (https://*.example.ac.jp) in lms_origins; off: every origin is named.",
    )

    @validate("lms_origins")
    def _valid_origins(self, proposal: Any) -> list[str]:
        try:
            return list(parse_origins(proposal["value"], allow_wildcards=self.lms_origins_wildcards))
        except OriginError as exc:
            raise TraitError(f"LTIContainerSpawner.lms_origins: {exc}") from None

    language = Unicode(
        "",
        config=True,
        help="""The site language of the messages users see in their containers (ipynb_submit, ipynb_deploy,
        setup notices, limit notices): a language tag such as "ja" or "ja_JP", set as LANGUAGE in the
        container. Empty: the image's LANG/LANGUAGE decide (English without them). docs/languages.md.""",
    )

    @validate("language")
    def _valid_language(self, proposal: dict[str, Any]) -> str:
        value = str(proposal["value"])
        try:
            container_environment(value)
        except ValueError as exc:
            raise TraitError(f"LTIContainerSpawner.language: {exc}") from exc
        return value

    @default("remove")
    def _remove_default(self) -> bool:
        # every launch has a new name (random part) and its own spec: never reuse a container
        return True

    #: JupyterHub's ``Spawner.cookie_options`` (a Dict trait: the hub's ``tornado_settings["cookie_options"]``).
    cookie_options: dict[str, Any]
    #: Set by :meth:`prepare`: the launch and the spec of the running (or starting) server.
    launch: Launch | None = None
    spec: ContainerSpec | None = None
    identity_of_launch: Identity | None = None
    #: Seconds per lms_actlimit second (tests shorten it).
    actlimit_unit: float = 1.0
    _site: dict[str, Any] | None = None
    _actlimit_task: asyncio.Future[None] | None = None

    # -- computing the container (no Docker, no hub needed) ---------------------------------
    def _site_config(self) -> dict[str, Any]:
        """The site's configured values, kept before the first launch overrides them."""
        if self._site is None:
            self._site = {
                "image": self.image,
                "volumes": dict(self.volumes),
                "environment": dict(self.environment),
                "mem_limit": self.mem_limit,
                "cpu_limit": self.cpu_limit,
                "default_url": self.default_url,
                "extra_create_kwargs": self.extra_create_kwargs,
                "extra_host_config": self.extra_host_config,
            }
        return self._site

    def identity(self, launch: Launch) -> Identity:
        """uid, gid and group of the user in the container: :attr:`user_ids` when set, else the old
        spawner's rules (:func:`ipynb_tools.identity.resolve_identity`; traits ``lookup_host_users``,
        ``lms_user_fields``, ``uid_base``, ``default_gid``, ``default_group``)."""
        if self.user_ids is not None:
            ids = tuple(self.user_ids(self))
            group = str(ids[2]) if len(ids) > 2 else self.default_group
            return Identity(int(ids[0]), int(ids[1]), group, "user_ids")
        return resolve_identity(
            self.user.name,
            launch.lms_user,
            lookup_passwd=self.lookup_host_users,
            use_lms_fields=self.lms_user_fields,
            uid_base=self.uid_base,
            default_gid=self.default_gid,
            default_group=self.default_group,
        )

    def template_namespace(self) -> dict[str, Any]:
        """DockerSpawner's template names plus ``{group}``, ``{uid}``, ``{gid}`` of the prepared launch."""
        namespace: dict[str, Any] = super().template_namespace()
        if self.identity_of_launch is not None:
            namespace.update(
                group=self.identity_of_launch.group,
                uid=self.identity_of_launch.uid,
                gid=self.identity_of_launch.gid,
            )
        return namespace

    def teacher_rule(self, launch: Launch) -> str | None:
        """Why this user is a teacher (one phrase for the log and the start page), or None for a student.

        ``listed in lms_teachers`` (the old system's rule, always on); ``LTI role <role>
        (teachers_by_lti_role)`` only when the site turned :attr:`teachers_by_lti_role` on.
        """
        return teacher_rule(
            launch, self.user.name, by_lti_role=self.teachers_by_lti_role, teacher_roles=self.teacher_roles
        )

    def is_teacher(self, launch: Launch) -> bool:
        """A teacher by :meth:`teacher_rule`."""
        return self.teacher_rule(launch) is not None

    def role_message(self) -> str:
        """What the start page and the log say about the role of the prepared launch."""
        rule = self.teacher_rule(self.launch) if self.launch is not None else None
        if rule is not None:
            return f"You start as a teacher: {rule}."
        rule_text = "lms_teachers or an LTI role in teacher_roles" if self.teachers_by_lti_role else "lms_teachers"
        return f"You start as a student (not a teacher by {rule_text})."

    def prepare(self, auth_state: dict[str, Any] | None, *, now: float | None = None) -> ContainerSpec:
        """Read the launch, refuse it or build the spec, and set this spawner's Docker settings from it."""
        site = self._site_config()
        try:
            launch = read_launch(auth_state, lms_host=self.lms_host or None, now=now)
        except LaunchError as exc:
            raise LaunchRefused(str(exc)) from None
        problem = refusal(launch)
        if problem:
            raise LaunchRefused(problem)
        rule = self.teacher_rule(launch)
        teacher = rule is not None
        self.launch = launch  # (user_ids hooks may read it)
        try:
            ident = self.identity(launch)
        except IpynbToolsError as exc:
            raise LaunchRefused(f"This activity cannot start a Jupyter container: {exc}") from None
        uid, gid = ident.uid, ident.gid
        try:
            spec = build_spec(
                launch.params,
                self.user.name,
                uid=uid,
                gid=gid,
                course=launch.course or "",
                lti_id=launch.lti_id or "",
                host=launch.host or "",
                teacher=teacher,
                default_image=site["image"],
                default_url=site["default_url"] or DEFAULT_URL,
                teachers_gid=self.thr_gid,
                teachers_group=self.thr_group,
                home_root=self.home_root,
                group=ident.group,
                home_by_group=self.home_by_group,
                at=now,
            )
        except IpynbToolsError as exc:
            raise LaunchRefused(f"This activity cannot start a Jupyter container: {exc}") from None
        if self.image_filter and spec.image != site["image"] and self.image_filter not in spec.image:
            raise LaunchRefused(
                f"This activity asks for the image {spec.image!r}, which this site does not offer "
                f"(allowed: images containing {self.image_filter!r}); ask the teacher to change lms_image"
            )
        limit = spec.mem_limit if spec.mem_limit is not None else site["mem_limit"]
        if spec.mem_reservation and isinstance(limit, int) and 0 < limit < spec.mem_reservation:
            raise LaunchRefused(
                f"This activity's memory guarantee (lms_memgrnt, {spec.mem_reservation} bytes) is above the "
                f"memory limit ({limit} bytes, the site's default when lms_memlimit is not set): the engine "
                "cannot start such a container; ask the teacher to lower lms_memgrnt or set lms_memlimit"
            )
        self.launch, self.spec, self.identity_of_launch = launch, spec, ident
        self._apply(spec, site)
        self.log.info(
            "ipynb-tools: %s launch of %s as %s (uid %s by %s, group %s), course %s, LTI %s, host %s: image %s, "
            "%d volume(s)",
            launch.version,
            self.user.name,
            f"teacher ({rule})" if rule else "student",
            uid,
            ident.source,
            ident.group,
            launch.course,
            launch.lti_id,
            launch.host,
            spec.image,
            len(spec.mounts),
        )
        for finding in launch.findings:
            if finding.severity != "info":
                self.log.warning("ipynb-tools: %s: %s: %s", self.user.name, finding.severity, finding.message)
        return spec

    def _apply(self, spec: ContainerSpec, site: dict[str, Any]) -> None:
        self.image = spec.image  # (re-renders object_name: set the name after it)
        self.object_name = spec.name
        self.volumes = {**site["volumes"], **{m.volume: {"bind": m.target, "mode": "rw"} for m in spec.mounts}}
        self.environment = {
            **site["environment"],
            **container_environment(self.language),
            **spec.environment,
            **self.execlog_environment(),
            **self.embedding_environment(),
            **self.limits_environment(spec),
        }
        if self.lms_origins:
            # the server's OAuth/state cookies (JUPYTERHUB_COOKIE_OPTIONS), even if the hub's settings lack them
            self.cookie_options = {**self.cookie_options, **COOKIE_OPTIONS}
        # None: the site default; 0 (lms_memlimit=0, lms_cpulimit=0.0): no limit, not the site default
        self.mem_limit = site["mem_limit"] if spec.mem_limit is None else (spec.mem_limit or None)
        self.cpu_limit = site["cpu_limit"] if spec.nano_cpus is None else (spec.nano_cpus / 1e9 or None)
        # guarantees: JupyterHub passes them as MEM_GUARANTEE/CPU_GUARANTEE; DockerSpawner gives them
        # to no engine, so the host config below carries them as reservations
        self.mem_guarantee = spec.mem_reservation
        self.cpu_guarantee = spec.cpu_shares / CPU_SHARES_PER_CPU if spec.cpu_shares else None
        self.default_url = spec.default_url
        if self.network_name == "host":
            # each server its own port on the loopback; no port publishing (Docker refuses it there)
            self.ip = self.host_network_ip
            self.port = random_port()
            self.use_internal_ip = True
        extra = site["extra_create_kwargs"]
        extra_host = site["extra_host_config"]
        reservations: dict[str, int] = {}
        if spec.mem_reservation is not None:
            reservations["mem_reservation"] = spec.mem_reservation
        if spec.cpu_shares is not None:
            reservations["cpu_shares"] = spec.cpu_shares

        async def host_config(spawner: LTIContainerSpawner) -> dict[str, Any]:
            base = spawner._eval_if_callable(extra_host)
            if asyncio.iscoroutine(base) or isinstance(base, asyncio.Future):
                base = await base
            return {**dict(base or {}), **reservations}

        self.extra_host_config = host_config

        async def create_kwargs(spawner: LTIContainerSpawner) -> dict[str, Any]:
            base = spawner._eval_if_callable(extra)
            if asyncio.iscoroutine(base) or isinstance(base, asyncio.Future):
                base = await base
            merged = dict(base or {})
            merged["labels"] = {**merged.get("labels", {}), **spec.labels}
            merged["user"] = spec.user
            return merged

        self.extra_create_kwargs = create_kwargs

    def embedding_environment(self) -> dict[str, str]:
        """The container environment of embedding (:data:`~ipynb_tools.hub.embedding.FRAME_ANCESTORS_ENV`);
        empty without :attr:`lms_origins`. The server extension turns it into the server's settings."""
        if not self.lms_origins:
            return {}
        return Embedding.of(self.lms_origins, allow_wildcards=self.lms_origins_wildcards).singleuser_environment()

    def effective_actlimit(self, spec: ContainerSpec | None = None) -> int:
        """The activity limit in seconds of a launch: ``lms_actlimit`` when set (0: none), else
        :attr:`actlimit_default` (0: none). Issue 16: unset means the site default, 0 means no limit."""
        spec = spec if spec is not None else self.spec
        limit = spec.actlimit if spec is not None else None
        return max(0, self.actlimit_default if limit is None else limit)

    def limits_environment(self, spec: ContainerSpec) -> dict[str, str]:
        """``NB_ACTLIMIT`` (the effective limit, ``0`` = none) and ``IPYNB_ACTLIMIT_GRACE`` for the container."""
        return {NB_ACTLIMIT: str(self.effective_actlimit(spec)), IPYNB_ACTLIMIT_GRACE: str(max(0, self.actlimit_grace))}

    def execlog_environment(self) -> dict[str, str]:
        """The container environment of execution-log capture (empty without :attr:`execlog_url`)."""
        if not self.execlog_url:
            return {}
        env = {"IPYNB_EXECLOG_URL": self.execlog_url}
        if self.execlog_source:
            env["IPYNB_EXECLOG_SOURCE"] = "1"
        return env

    def execlog_launch(self, launch: Launch, at_us: int) -> ExecLaunch:
        """The launch as the execution-log store keeps it: LTI ids from ``lms_sessioninfo`` when given (SPEC 9)."""
        ids = launch.params.session_ids
        return ExecLaunch(
            username=self.user.name,
            course=launch.course,
            lti_id=ids[1] if ids else launch.lti_id,
            inst_id=ids[0] if ids else None,
            date_us=at_us,
        )

    async def record_launch(self) -> None:
        """Record this launch in :attr:`execlog_db` (in a thread); a failure is logged, never stops the start."""
        if not self.execlog_db or self.launch is None:
            return
        from ..execlog.records import now_us
        from ..execlog.store import Store

        record = self.execlog_launch(self.launch, now_us())
        db = self.execlog_db

        def write() -> None:
            with Store.open(db) as store:
                store.record_launch(record)

        try:
            await asyncio.get_running_loop().run_in_executor(None, write)
        except IpynbToolsError as exc:
            self.log.warning("ipynb-tools: execution log: cannot record the launch of %s: %s", self.user.name, exc)

    # -- starting and stopping --------------------------------------------------------------
    async def ensure_volumes(self) -> None:
        """Create the spec's task and submit volumes that do not exist yet, with their labels."""
        import docker.errors

        assert self.spec is not None
        for mount in self.spec.mounts:
            try:
                await self.docker("inspect_volume", mount.volume)
            except docker.errors.NotFound:
                self.log.info("ipynb-tools: creating volume %s", mount.volume)
                await self.docker("create_volume", name=mount.volume, labels=dict(mount.labels))

    async def start(self) -> Any:
        auth_state = await self.user.get_auth_state()
        self.prepare(auth_state)
        await self.record_launch()
        if self.create_volumes:
            await self.ensure_volumes()
        result = await super().start()
        self._schedule_actlimit()
        return result

    async def progress(self) -> Any:
        """The hub's start page: first the role and the rule that made it (issue 16), then DockerSpawner's."""
        if self.launch is not None:
            yield {"progress": 10, "message": self.role_message()}
        async for event in super().progress():
            yield event

    async def get_ip_and_port(self) -> tuple[str, int]:
        if self.network_name == "host":
            return self.host_network_ip, self.port
        ip_port: tuple[str, int] = await super().get_ip_and_port()
        return ip_port

    def _schedule_actlimit(self) -> None:
        limit = self.effective_actlimit() if self.spec is not None else 0
        if not self.enforce_actlimit or limit <= 0:
            return
        object_id = self.object_id
        after = limit + max(0, self.actlimit_grace) + max(0, self.actlimit_backstop)
        self._actlimit_task = asyncio.ensure_future(self._stop_after(limit, after, object_id))

    async def _stop_after(self, limit: int, seconds: int, object_id: str | None) -> None:
        await asyncio.sleep(seconds * self.actlimit_unit)
        if self.object_id != object_id:
            return
        self.log.info(
            "ipynb-tools: activity limit of %s s (+ grace and backstop: %s s) reached: stopping the server of %s",
            limit,
            seconds,
            self.user.name,
        )
        await self.user.stop(self.name)

    async def stop(self, now: bool = False) -> None:
        task = self._actlimit_task
        if task is not None and task is not asyncio.current_task() and not task.done():
            task.cancel()
        self._actlimit_task = None
        await super().stop(now=now)
