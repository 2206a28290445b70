"""Course volumes on a container engine: list, create, inspect and remove a course's task and submit volumes.

Every operation makes a fixed number of engine API calls whatever the number of volumes:
listing is one ``GET /volumes`` with label filters plus one ``GET /containers/json?all=1`` to
tell which containers use which volume; creating is one ``GET /volumes`` (name filters) plus
one ``POST /volumes/create`` per volume that is missing; removing is the listing plus one
``DELETE`` per volume removed. The connection is :mod:`ipynb_tools.volumes.engine`'s.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar

import docker.errors

from .engine import Engine, EngineError, calling
from .naming import (
    ENGINE_KINDS,
    LABEL_COURSE,
    LABEL_HOST,
    LABEL_KIND,
    LABEL_NAME,
    LABEL_PREFIX,
    LABEL_USER,
    NAME_RE,
    VolumeKind,
    VolumeName,
    VolumeNameError,
    check_course,
    check_host,
    parse_full_name,
)
from .shared import SharedStorage, make_directory, remove_directory


class VolumeNotFound(EngineError):
    """No course volume matches the given NAME or full name."""


class VolumeInUse(EngineError):
    """A volume cannot be removed because containers use it."""


class NotRemovable(EngineError):
    """A volume that this tool must not remove (personal, another course's, not ours)."""


class _VolumeParam(Protocol):
    @property
    def kind(self) -> VolumeKind: ...
    @property
    def name(self) -> str: ...


class _Params(Protocol):
    @property
    def volumes(self) -> Sequence[_VolumeParam]: ...


@dataclass(frozen=True)
class ContainerUse:
    """A container that mounts a volume."""

    name: str
    id: str
    state: str  # running, exited, created...
    #: The hub user whose server the container is (the spawner's ``io.ipynb-tools.user`` label), if any.
    user: str | None = None

    @property
    def running(self) -> bool:
        return self.state == "running"

    def __str__(self) -> str:
        return f"{self.name} ({self.state})"


@dataclass(frozen=True)
class CourseVolume:
    """One task or submit volume of a course as the engine reports it."""

    full_name: str
    kind: VolumeKind  # TASK or SUBMIT
    name: str
    course: str
    host: str
    labels: dict[str, str]
    created: str | None
    mountpoint: str | None
    driver: str | None
    used_by: tuple[ContainerUse, ...] = ()
    #: The driver options the volume was made with (``type``/``o``/``device`` for shared storage).
    options: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "kind", VolumeKind(self.kind))

    @property
    def kind_label(self) -> str:
        """``task`` or ``submit``."""
        return self.kind.label

    @property
    def in_use(self) -> bool:
        return bool(self.used_by)

    @property
    def labelled(self) -> bool:
        """True when the volume carries all four ipynb-tools labels."""
        return all(key in self.labels for key in (LABEL_COURSE, LABEL_HOST, LABEL_KIND, LABEL_NAME))

    def to_json(self) -> dict[str, Any]:
        return {
            "full_name": self.full_name,
            "kind": self.kind.value,
            "kind_label": self.kind_label,
            "name": self.name,
            "course": self.course,
            "host": self.host,
            "labels": dict(self.labels),
            "created": self.created,
            "mountpoint": self.mountpoint,
            "driver": self.driver,
            "options": dict(self.options),
            "labelled": self.labelled,
            "in_use": self.in_use,
            "used_by": [{"name": c.name, "id": c.id, "state": c.state, "user": c.user} for c in self.used_by],
        }


@dataclass(frozen=True)
class CreateResult:
    """What ``create`` did for one volume."""

    full_name: str
    created: bool
    #: Labels the existing volume lacks; Docker and Podman cannot add labels to an existing volume.
    missing_labels: dict[str, str] = field(default_factory=dict)
    #: Labels the existing volume has with a different value than its name implies.
    conflicting_labels: dict[str, tuple[str, str]] = field(default_factory=dict)
    #: With shared storage: the existing volume's driver options when they are not the shared root's.
    other_storage: dict[str, str] | None = None
    #: With shared storage: the volume's directory in the shared root was made by this call.
    directory_made: bool = False

    @property
    def note(self) -> str | None:
        """One line when the existing volume's labels are not what they should be."""
        parts = []
        if self.missing_labels:
            parts.append(
                "exists without labels "
                + ", ".join(sorted(self.missing_labels))
                + " (the engine cannot add labels to an existing volume)"
            )
        if self.conflicting_labels:
            parts.append(
                "exists with different labels: "
                + ", ".join(
                    f"{k}={have!r} (expected {want!r})" for k, (have, want) in sorted(self.conflicting_labels.items())
                )
            )
        if self.other_storage is not None:
            shown = ",".join(f"{k}={v}" for k, v in sorted(self.other_storage.items())) or "none"
            parts.append(
                f"exists with driver options {shown}, not on the shared storage: nodes would not share its data "
                "(remove it while empty, then create it again)"
            )
        return "; ".join(parts) or None

    def to_json(self) -> dict[str, Any]:
        return {
            "full_name": self.full_name,
            "created": self.created,
            "missing_labels": dict(self.missing_labels),
            "conflicting_labels": {k: list(v) for k, v in self.conflicting_labels.items()},
            "other_storage": self.other_storage,
            "directory_made": self.directory_made,
            "note": self.note,
        }


@dataclass(frozen=True)
class RemoveResult:
    """What ``remove`` did for one volume."""

    full_name: str
    removed_containers: tuple[ContainerUse, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {"full_name": self.full_name, "removed_containers": [c.name for c in self.removed_containers]}


# --------------------------------------------------------------------------- references


@dataclass(frozen=True)
class VolumeRef:
    """What the user named: a kind (or both engine kinds) and a NAME, within a course and host."""

    kinds: tuple[VolumeKind, ...]
    name: str
    text: str

    def full_names(self, course: str, host: str) -> list[str]:
        return [VolumeName(kind, self.name, course, host).full for kind in self.kinds]


def parse_ref(text: str, course: str, host: str) -> VolumeRef:
    """Read ``NAME``, ``vol_NAME``/``sub_NAME``, ``lms_vol_NAME`` or a full name of this course and host.

    A bare NAME means both the task and the submit volume. Personal volumes and full names of other
    courses or hosts are refused here, before anything touches the engine.
    """
    check_course(course)
    check_host(host)
    raw = text.strip()
    kind: VolumeKind | None
    if raw.startswith("lms_") and raw.count("_") >= 4:
        parts = parse_full_name(raw)
        if (parts.course, parts.host) != (course, host):
            raise NotRemovable(
                f"{raw}: belongs to course {parts.course!r} on host {parts.host!r}, not to course "
                f"{course!r} on host {host!r}"
            )
        kind, name = parts.kind, parts.name
    else:
        body = raw[4:] if raw.startswith("lms_") else raw
        kind_text, sep, name = body.partition("_")
        kind = None
        if sep:
            if kind_text not in tuple(VolumeKind):
                raise VolumeNameError(f"{raw!r}: kind {kind_text!r} is not one of vol, sub")
            kind = VolumeKind(kind_text)
        else:
            name = body
    if kind is VolumeKind.PERSONAL:
        raise NotRemovable(f"{raw}: personal volumes are directories in each user's home, not engine volumes")
    if not NAME_RE.fullmatch(name):
        raise VolumeNameError(f"{raw!r}: volume NAME {name!r} must be lowercase letters and digits only")
    return VolumeRef(ENGINE_KINDS if kind is None else (kind,), name, raw)


# --------------------------------------------------------------------------- operations


def _course_filters(course: str, host: str) -> dict[str, Any]:
    """One filter that finds the course's volumes, labelled or made by the old module.

    Engines match ``name`` as a part of the volume name (Podman as a pattern); every hit is
    then checked exactly (:func:`_matches_course`), so the filter may only over-match.
    """
    return {"name": [f"_{course}_{host}"]}


def _container_uses(engine: Engine) -> dict[str, list[ContainerUse]]:
    """Volume name -> containers that mount it, from ONE ``GET /containers/json?all=1``."""
    with calling(engine, "listing containers"):
        containers = engine.api.containers(all=True)
    uses: dict[str, list[ContainerUse]] = {}
    for entry in containers:
        names = entry.get("Names") or [entry.get("Id", "")[:12]]
        labels = entry.get("Labels") or {}
        use = ContainerUse(
            names[0].lstrip("/"),
            entry.get("Id", ""),
            entry.get("State") or entry.get("Status") or "",
            labels.get(LABEL_USER) if isinstance(labels, dict) else None,
        )
        for mount in entry.get("Mounts") or ():
            if mount.get("Type") == "volume" and mount.get("Name"):
                uses.setdefault(mount["Name"], []).append(use)
    return uses


def _to_course_volume(raw: dict[str, Any], uses: dict[str, list[ContainerUse]]) -> CourseVolume | None:
    """A course volume from the engine's JSON; None when its name is not a task/submit full name."""
    labels = dict(raw.get("Labels") or {})
    name = raw.get("Name", "")
    try:
        parts = parse_full_name(name)
    except VolumeNameError:
        return None
    if parts.kind not in ENGINE_KINDS:
        return None
    return CourseVolume(
        full_name=name,
        kind=parts.kind,
        name=parts.name,
        course=parts.course,
        host=parts.host,
        labels=labels,
        created=raw.get("CreatedAt"),
        mountpoint=raw.get("Mountpoint"),
        driver=raw.get("Driver"),
        used_by=tuple(uses.get(name, ())),
        options=dict(raw.get("Options") or {}),
    )


def _matches_course(volume: CourseVolume, course: str, host: str) -> bool:
    """The name is this course's on this host, and the labels agree (or there are none at all).

    A volume with no ipynb-tools label is one the old module made (it labelled nothing): it is
    listed, marked unlabelled, because its name is then all there is. A volume whose labels
    say something else is not ours.
    """
    if (volume.course, volume.host) != (course, host):
        return False
    labels = volume.labels
    if not any(key.startswith(LABEL_PREFIX) for key in labels):
        return True
    return (
        labels.get(LABEL_COURSE) == course
        and labels.get(LABEL_HOST) == host
        and labels.get(LABEL_KIND, volume.kind) == volume.kind
        and labels.get(LABEL_NAME, volume.name) == volume.name
    )


def list_volumes(engine: Engine, course: str, host: str, *, with_containers: bool = True) -> list[CourseVolume]:
    """The course's task and submit volumes on this engine, sorted by kind and NAME.

    Two engine calls in all: the volumes whose name contains this course and host (checked
    exactly against name and labels, see :func:`_matches_course`), and (unless
    ``with_containers`` is false) every container once, to fill in ``used_by``. Volumes the old
    module made without labels are included with ``labelled`` False.
    """
    check_course(course)
    check_host(host)
    with calling(engine, f"listing volumes of course {course} on {host}"):
        raw = engine.api.volumes(filters=_course_filters(course, host)).get("Volumes") or []
    uses = _container_uses(engine) if with_containers and raw else {}
    found = []
    for item in raw:
        volume = _to_course_volume(item, uses)
        if volume is not None and _matches_course(volume, course, host):
            found.append(volume)
    return sorted(found, key=lambda v: (ENGINE_KINDS.index(v.kind), v.name))


def _existing(engine: Engine, full_names: Iterable[str]) -> dict[str, dict[str, Any]]:
    """The engine's volumes with exactly these names, from one filtered ``GET /volumes``."""
    wanted = sorted(set(full_names))
    if not wanted:
        return {}
    with calling(engine, "looking up volumes"):
        raw = engine.api.volumes(filters={"name": wanted}).get("Volumes") or []
    return {item["Name"]: item for item in raw if item.get("Name") in wanted}


def create_volumes(
    engine: Engine, names: Sequence[VolumeName], *, storage: SharedStorage | None = None
) -> list[CreateResult]:
    """Create the given engine volumes with their labels; existing ones are left as they are.

    An existing volume is never recreated (it may hold students' work). Docker and Podman cannot
    change an existing volume's labels, so missing or different labels are reported in the result.
    With ``storage`` (a cluster's shared root, :mod:`ipynb_tools.volumes.shared`) each volume's
    directory is made in the shared root first and the volume is created with the ``local``
    driver's options pointing there; an existing volume with other options is reported
    (``other_storage``). Raises :class:`EngineError`, or
    :class:`~ipynb_tools.volumes.shared.SharedStorageError` when a directory cannot be made.
    """
    for name in names:
        if not name.kind.on_engine:
            raise NotRemovable(f"{name.full}: personal volumes are directories in each user's home, not engine volumes")
    existing = _existing(engine, (n.full for n in names))
    results: list[CreateResult] = []
    seen: set[str] = set()
    for name in names:
        if name.full in seen:
            continue
        seen.add(name.full)
        want = name.labels
        made = make_directory(storage, name.full) if storage is not None else False
        options = storage.driver_opts(name.full) if storage is not None else None
        have_raw = existing.get(name.full)
        if have_raw is None:
            with calling(engine, f"creating {name.full}"):
                try:
                    engine.api.create_volume(name.full, driver="local", driver_opts=options, labels=want)
                    results.append(CreateResult(name.full, True, directory_made=made))
                    continue
                except docker.errors.APIError as exc:
                    if exc.status_code != 409:  # created meanwhile by someone else: treat as existing
                        raise
                have_raw = engine.api.inspect_volume(name.full)
        assert have_raw is not None  # found above, or just inspected
        have = dict(have_raw.get("Labels") or {})
        missing = {k: v for k, v in want.items() if k not in have}
        conflicting = {k: (have[k], v) for k, v in want.items() if k in have and have[k] != v}
        other = None
        if storage is not None and not storage.holds(name.full, have_raw.get("Options")):
            other = dict(have_raw.get("Options") or {})
        results.append(CreateResult(name.full, False, missing, conflicting, other, made))
    return results


def names_from_refs(refs: Sequence[str], course: str, host: str) -> list[VolumeName]:
    """The engine volumes the user named (``NAME`` = task and submit, ``vol_NAME``, full name...)."""
    out: list[VolumeName] = []
    for ref in refs:
        parsed = parse_ref(ref, course, host)
        out.extend(VolumeName(kind, parsed.name, course, host) for kind in parsed.kinds)
    return out


def create_volume(engine: Engine, kind: VolumeKind, name: str, course: str, host: str) -> CreateResult:
    """Create one task (``vol``) or submit (``sub``) volume; see :func:`create_volumes`."""
    return create_volumes(engine, [VolumeName(kind, name, course, host)])[0]


def volumes_for_params(params: _Params, course: str, host: str) -> list[VolumeName]:
    """The engine volumes a parameter set needs: its task and submit volumes (personal ones are dirs)."""
    return [VolumeName(v.kind, v.name, course, host) for v in params.volumes if v.kind in ENGINE_KINDS]


def create_for_params(
    engine: Engine, params: _Params, course: str, host: str, *, storage: SharedStorage | None = None
) -> list[CreateResult]:
    """Create every task and submit volume named in ``params.volumes`` (kind/name) for this course."""
    check_course(course)
    check_host(host)
    return create_volumes(engine, volumes_for_params(params, course, host), storage=storage)


def resolve(engine: Engine, refs: Sequence[str], course: str, host: str) -> list[CourseVolume]:
    """The course volumes the references name (with their containers); every ref must match one."""
    parsed = [parse_ref(ref, course, host) for ref in refs]
    volumes = {v.full_name: v for v in list_volumes(engine, course, host)}
    return choose(volumes, parsed, course, host, engine.url)


class _Listed(Protocol):
    @property
    def full_name(self) -> str: ...
    @property
    def labelled(self) -> bool: ...


V = TypeVar("V", bound=_Listed)


def choose(volumes: dict[str, V], refs: Sequence[VolumeRef], course: str, host: str, where: str) -> list[V]:
    """The listed volumes (by full name) the references name; raises :class:`VolumeNotFound` for one that
    names none. An unlabelled (old module's) volume is chosen only by its full name: a short NAME must
    not reach a volume that only its name ties to this course."""
    chosen: list[V] = []
    missing: list[str] = []
    for ref in refs:
        hits = [volumes[n] for n in ref.full_names(course, host) if n in volumes]
        hits = [h for h in hits if h.labelled or ref.text == h.full_name]
        if not hits:
            missing.append(ref.text)
        chosen.extend(h for h in hits if h not in chosen)
    if missing:
        raise VolumeNotFound(
            f"no task or submit volume {', '.join(repr(m) for m in missing)} of course {course!r} on "
            f"host {host!r} at {where} (see 'ipynb-tools volumes ls')"
        )
    return chosen


def inspect_volume(engine: Engine, ref: str, course: str, host: str) -> list[CourseVolume]:
    """The course volume(s) one reference names: a bare NAME may give the task and the submit one."""
    return resolve(engine, [ref], course, host)


def remove_volumes(
    engine: Engine,
    refs: Sequence[str],
    course: str,
    host: str,
    *,
    force: bool = False,
    storage: SharedStorage | None = None,
) -> list[RemoveResult]:
    """Remove the named task/submit volumes of this course and host.

    Everything is checked before anything is removed: an unknown name, a personal volume or
    another course's volume stops the whole call. A volume in use by containers (running or
    stopped) is refused, naming them, unless ``force``: then those containers are removed first.
    With ``storage`` the volume's directory in the shared root (its data) is removed too, and an
    engine that is a swarm node is refused (:class:`EngineError`): other nodes' servers are not seen
    here (:func:`ipynb_tools.volumes.cluster.remove_cluster_volumes` is the swarm's removal).
    """
    if not refs:
        raise EngineError("name at least one volume to remove")
    if storage is not None:
        # on a swarm node this engine sees only its own containers, and the data in the shared root is
        # what every node's servers work in: ipynb_tools.volumes.cluster checks all of them
        with calling(engine, "asking the engine whether it is a swarm node"):
            swarm = engine.api.info().get("Swarm") or {}
        if swarm.get("LocalNodeState") == "active":
            raise EngineError(
                f"the engine at {engine.url} is a swarm node: servers on other nodes may use the volumes' data "
                "in the shared root; use --swarm (nothing removed)"
            )
    chosen = resolve(engine, refs, course, host)
    busy = [v for v in chosen if v.in_use]
    if busy and not force:
        raise VolumeInUse(
            "; ".join(f"{v.full_name} is in use by {', '.join(str(c) for c in v.used_by)}" for v in busy)
            + " (nothing removed; --force removes those containers first)"
        )
    results: list[RemoveResult] = []
    removed_containers: set[str] = set()
    for volume in chosen:
        gone = []
        for container in volume.used_by:
            if container.id not in removed_containers:
                what = f"removing container {container.name} that uses {volume.full_name}"
                with calling(engine, what), contextlib.suppress(docker.errors.NotFound):
                    engine.api.remove_container(container.id, force=True)
                removed_containers.add(container.id)
            gone.append(container)
        # NotFound: removed meanwhile, the goal is reached
        with calling(engine, f"removing {volume.full_name}"), contextlib.suppress(docker.errors.NotFound):
            engine.api.remove_volume(volume.full_name)
        if storage is not None:
            remove_directory(storage, volume.full_name)
        results.append(RemoveResult(volume.full_name, tuple(gone)))
    return results


def volume_sizes(engine: Engine) -> dict[str, int]:
    """Volume name -> bytes used, from ONE ``GET /system/df`` (the engine walks every volume: slow on
    big hosts). A volume the engine could not size (``-1``) is left out."""
    with calling(engine, "reading disk usage"):
        usage = engine.api.df()
    sizes: dict[str, int] = {}
    for entry in usage.get("Volumes") or ():
        size = (entry.get("UsageData") or {}).get("Size")
        if isinstance(size, int) and size >= 0 and entry.get("Name"):
            sizes[entry["Name"]] = size
    return sizes
