"""A launch's container spec as Kubernetes objects (issue 17, "Kubernetes, on paper"; docs/kubernetes.md).

:func:`pod_fields` turns a :class:`~ipynb_tools.spec.ContainerSpec` (the same one the Docker spawner
starts, SPEC 6) into the fields of the user's pod: the notebook container's ``env``,
``volumeMounts``, ``resources`` (requests and limits) and ``securityContext``, and the pod's
``volumes`` and labels. :func:`course_claims` gives the course's PersistentVolumeClaims, one
``ReadWriteMany`` claim per task or submit volume, shared by every user's pod of the course (the
engine volumes of the Docker spawner). Everything is plain dicts in the API's own field names
(camelCase), as ``kubectl apply`` and the ``kubernetes`` client take them; nothing here imports
``kubernetes`` or KubeSpawner, and no cluster is contacted.

Names. Kubernetes object names are RFC 1123 DNS subdomains (``[a-z0-9]([-a-z0-9.]*[a-z0-9])?``,
at most 253 characters) and pod volume names RFC 1123 labels (at most 63); a volume's full name
(``lms_sub_k1_98_moodle.example.ac.jp``) is neither, so :func:`claim_name` maps it to
``lms-sub-k1-98-moodle.example.ac.jp`` (given a hash when that could merge two full names, cut when too
long) and keeps the full name in the annotation :data:`FULL_NAME_ANNOTATION`; :func:`volume_name` gives the pod's short
name ``<kind>-<hash>``.

Resources, from the spec (:mod:`ipynb_tools.params.resources`): ``mem_limit``/``nano_cpus`` None
leave the site default (KubeSpawner's ``mem_limit``/``cpu_limit``) in place, 0 means no limit (the
field is removed); ``mem_reservation`` (``lms_memgrnt``) becomes the memory request and
``cpu_shares`` (``lms_cpugrnt``, 1024 per CPU) the CPU request. Quantities are written as plain
bytes and millicores (``"536870912"``, ``"1500m"``).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from typing import Any

from ..errors import IpynbToolsError
from ..params.resources import CPU_SHARES_PER_CPU
from ..spec import ContainerSpec, VolumeMount

#: The annotation that keeps a claim's volume full name (lms_<kind>_<NAME>_<course>_<host>).
FULL_NAME_ANNOTATION = "ipynb-tools.io/volume"
#: The notebook container's name in KubeSpawner's pods.
NOTEBOOK_CONTAINER = "notebook"
#: Access mode of the course claims: every user's pod, on any node, mounts them read-write (SPEC 5).
ACCESS_MODE = "ReadWriteMany"

_SUBDOMAIN = re.compile(r"[a-z0-9]([-a-z0-9.]*[a-z0-9])?")
_LABEL_VALUE = re.compile(r"(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?")
_MAX_NAME = 253
_MAX_LABEL = 63


class KubeRenderError(IpynbToolsError):
    """A spec that cannot be written as Kubernetes objects (a name or label the API would refuse)."""


def _digest(text: str, length: int = 10) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:length]


def claim_name(full_name: str) -> str:
    """The PersistentVolumeClaim name of a task or submit volume: an RFC 1123 subdomain.

    Lower case, each run of characters outside ``[a-z0-9.-]`` one ``-``. When that cannot be read
    back as the full name (``-`` for ``_`` only), ``-<hash of the full name>`` is added, and a
    name longer than 253 is cut before it: course ids may hold capitals, ``_``, ``-`` and a
    trailing ``_`` (``COURSE_RE``), so ``lms_sub_k1_A_h`` and ``lms_sub_k1_a_h``, or course ``98``
    at ``moodle-x.jp`` and course ``98_moodle`` at ``x.jp``, would otherwise share one claim, and
    one course's pods would mount another course's submissions. Raises :class:`KubeRenderError`
    for an empty result.
    """
    name = re.sub(r"[^a-z0-9.-]+", "-", full_name.lower()).strip("-.")
    if name.replace("-", "_") != full_name or len(name) > _MAX_NAME:
        name = name[: _MAX_NAME - 11].rstrip("-.") + "-" + _digest(full_name)
    if not _SUBDOMAIN.fullmatch(name):
        raise KubeRenderError(f"volume {full_name!r}: no Kubernetes claim name can be made from it")
    return name


def volume_name(mount: VolumeMount) -> str:
    """The pod's volume name of a mount (an RFC 1123 label): ``<kind>-<hash of the full name>``."""
    return f"{mount.kind}-{_digest(mount.volume)}"


def _label_value(key: str, value: str) -> str:
    if len(value) > _MAX_LABEL or not _LABEL_VALUE.fullmatch(value):
        raise KubeRenderError(f"label {key}={value!r}: not a Kubernetes label value (63 characters, [A-Za-z0-9_.-])")
    return value


def _labels(labels: Mapping[str, str]) -> dict[str, str]:
    """Labels a Kubernetes object may carry; a value the API would refuse (a Unicode user name) is an error."""
    return {key: _label_value(key, value) for key, value in labels.items()}


def pod_labels(spec: ContainerSpec) -> tuple[dict[str, str], dict[str, str]]:
    """(labels, annotations) of the user's pod: the spec's labels; a value that cannot be a label
    (a Japanese user name, a long course id) goes to the annotations instead, unchanged."""
    labels: dict[str, str] = {}
    annotations: dict[str, str] = {}
    for key, value in spec.labels.items():
        if len(value) <= _MAX_LABEL and _LABEL_VALUE.fullmatch(value):
            labels[key] = value
        else:
            annotations[key] = value
    return labels, annotations


def millicores(nano_cpus: int) -> str:
    """CPUs x 1e9 as a Kubernetes CPU quantity in millicores (``1_500_000_000`` -> ``"1500m"``), rounded up."""
    return f"{-(-nano_cpus // 1_000_000)}m"


def resources(spec: ContainerSpec, site: Mapping[str, Mapping[str, str]] | None = None) -> dict[str, dict[str, str]]:
    """The notebook container's ``resources``: the site's (KubeSpawner's, ``site``) with the activity's over them.

    ``site`` is ``{"limits": {...}, "requests": {...}}`` as KubeSpawner made it (may be None).
    ``lms_memlimit``/``lms_cpulimit`` replace the limits (0: removed, no limit); ``lms_memgrnt`` /
    ``lms_cpugrnt`` the requests. A CPU request above ``lms_cpulimit`` is cut to it (the limit wins,
    as with Docker); a memory request above its limit is left for the API server to refuse (the
    Docker spawner's refusal of the same launch happens in ``params.resources``), as is a request
    above a limit of the site's.
    """
    limits = dict((site or {}).get("limits") or {})
    requests = dict((site or {}).get("requests") or {})
    if spec.mem_limit is not None:
        if spec.mem_limit:
            limits["memory"] = str(spec.mem_limit)
        else:
            limits.pop("memory", None)
    if spec.nano_cpus is not None:
        if spec.nano_cpus:
            limits["cpu"] = millicores(spec.nano_cpus)
        else:
            limits.pop("cpu", None)
    if spec.mem_reservation is not None:
        requests["memory"] = str(spec.mem_reservation)
    if spec.cpu_shares is not None:
        wanted_cpu = spec.cpu_shares * 1_000_000_000 // CPU_SHARES_PER_CPU
        if spec.nano_cpus:
            # lms_cpugrnt above lms_cpulimit is a warning and the limit wins (params.resources, as Docker
            # runs it); the API server would refuse the whole pod for a CPU request above its limit
            wanted_cpu = min(wanted_cpu, spec.nano_cpus)
        requests["cpu"] = millicores(wanted_cpu)
    result: dict[str, dict[str, str]] = {}
    if limits:
        result["limits"] = limits
    if requests:
        result["requests"] = requests
    return result


def pod_fields(spec: ContainerSpec, *, site_resources: Mapping[str, Mapping[str, str]] | None = None) -> dict[str, Any]:
    """What the spec sets in the user's pod, in the API's field names::

        {"metadata": {"labels": {...}, "annotations": {...}},
         "container": {"name": "notebook", "image": ..., "env": [{"name": ..., "value": ...}],
                       "volumeMounts": [{"name": ..., "mountPath": ...}], "resources": {...},
                       "securityContext": {"runAsUser": 0, "runAsGroup": 0}},
         "volumes": [{"name": ..., "persistentVolumeClaim": {"claimName": ...}}]}

    The container starts as root (``spec.user``), as with Docker: the entry script runs ``setup``
    and then drops to ``NB_UID`` (docs/jupyterhub.md). ``env`` is sorted by name. Raises
    :class:`KubeRenderError` for a name Kubernetes would refuse.
    """
    if spec.user not in ("root", "0"):
        raise KubeRenderError(f"container user {spec.user!r}: the start script needs root (uid 0)")
    labels, annotations = pod_labels(spec)
    container: dict[str, Any] = {
        "name": NOTEBOOK_CONTAINER,
        "image": spec.image,
        "env": [{"name": key, "value": value} for key, value in sorted(spec.environment.items())],
        "volumeMounts": [{"name": volume_name(m), "mountPath": m.target} for m in spec.mounts],
        "securityContext": {"runAsUser": 0, "runAsGroup": 0},
    }
    wanted = resources(spec, site_resources)
    if wanted:
        container["resources"] = wanted
    return {
        "metadata": {"labels": labels, "annotations": annotations},
        "container": container,
        "volumes": [
            {"name": volume_name(m), "persistentVolumeClaim": {"claimName": claim_name(m.volume)}} for m in spec.mounts
        ],
    }


def course_claims(
    spec: ContainerSpec, *, size: str = "10Gi", storage_class: str | None = None, namespace: str | None = None
) -> list[dict[str, Any]]:
    """The PersistentVolumeClaim manifests of the task and submit volumes a launch mounts.

    One ``ReadWriteMany`` claim per volume (the storage class must offer it: NFS, CephFS, a
    cloud file store), labelled like the engine volumes (``io.ipynb-tools.course/host/kind/name``)
    and annotated with the full name. ``size`` is a Kubernetes quantity (``"10Gi"``); ``storage_class``
    None: the cluster's default class. The same claim comes out of every launch of the course, so
    applying them again changes nothing (create them when missing, like ``create_volumes``).
    """
    claims = []
    for mount in spec.mounts:
        metadata: dict[str, Any] = {
            "name": claim_name(mount.volume),
            "labels": _labels(mount.labels),
            "annotations": {FULL_NAME_ANNOTATION: mount.volume},
        }
        if namespace:
            metadata["namespace"] = namespace
        body: dict[str, Any] = {"accessModes": [ACCESS_MODE], "resources": {"requests": {"storage": size}}}
        if storage_class is not None:
            body["storageClassName"] = storage_class
        claims.append({"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": metadata, "spec": body})
    return claims


def pod_manifest(spec: ContainerSpec, *, name: str, namespace: str | None = None) -> dict[str, Any]:
    """A whole ``v1/Pod`` manifest of :func:`pod_fields` (for ``kubectl apply --dry-run`` and the tests;
    KubeSpawner builds its own pod and takes the fields through :func:`apply_to_pod`)."""
    fields = pod_fields(spec)
    metadata: dict[str, Any] = {"name": name, **fields["metadata"]}
    if namespace:
        metadata["namespace"] = namespace
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": metadata,
        "spec": {"containers": [fields["container"]], "volumes": fields["volumes"], "restartPolicy": "Never"},
    }


def apply_to_pod(pod: Any, spec: ContainerSpec) -> Any:
    """Put :func:`pod_fields` into a ``kubernetes.client.V1Pod`` KubeSpawner built (its ``modify_pod_hook``).

    The notebook container (KubeSpawner names it ``notebook``) gets the spec's image, env (added
    to KubeSpawner's: the hub's ``JUPYTERHUB_*`` stay), volume mounts, resources and security
    context; the pod gets the claims as volumes and the labels/annotations. Returns ``pod``.
    Raises :class:`KubeRenderError` when the pod has no notebook container.
    """
    from kubernetes import client  # installed with KubeSpawner

    fields = pod_fields(spec)
    containers = [c for c in pod.spec.containers if c.name == NOTEBOOK_CONTAINER]
    if not containers:
        raise KubeRenderError(f"pod {pod.metadata.name!r}: no container named {NOTEBOOK_CONTAINER!r}")
    notebook = containers[0]
    wanted = fields["container"]
    ours = {e["name"] for e in wanted["env"]}
    notebook.image = wanted["image"]
    notebook.env = [e for e in (notebook.env or []) if e.name not in ours] + [
        client.V1EnvVar(name=e["name"], value=e["value"]) for e in wanted["env"]
    ]
    notebook.volume_mounts = list(notebook.volume_mounts or []) + [
        client.V1VolumeMount(name=m["name"], mount_path=m["mountPath"]) for m in wanted["volumeMounts"]
    ]
    site = notebook.resources
    merged = resources(spec, {"limits": site.limits or {}, "requests": site.requests or {}} if site else None)
    notebook.resources = client.V1ResourceRequirements(limits=merged.get("limits"), requests=merged.get("requests"))
    notebook.security_context = client.V1SecurityContext(run_as_user=0, run_as_group=0)
    pod.spec.volumes = list(pod.spec.volumes or []) + [
        client.V1Volume(
            name=v["name"],
            persistent_volume_claim=client.V1PersistentVolumeClaimVolumeSource(
                claim_name=v["persistentVolumeClaim"]["claimName"]
            ),
        )
        for v in fields["volumes"]
    ]
    pod.metadata.labels = {**(pod.metadata.labels or {}), **fields["metadata"]["labels"]}
    pod.metadata.annotations = {**(pod.metadata.annotations or {}), **fields["metadata"]["annotations"]}
    return pod
