"""ipynb_tools/kube/render.py: the container spec as pod fields and course claims (issue 17, on paper).

No cluster runs here: the output is read with the official ``kubernetes`` client's models (the
client's own deserializer, as it reads API answers) and written back with its serializer; a field
name the API does not know would be dropped on the way and the round trip would differ. Names,
label values and quantities are checked against the API's rules (RFC 1123, the client's
``parse_quantity``).
"""

from __future__ import annotations

import json
import re
from decimal import Decimal
from typing import Any

import pytest
from kubernetes import client
from kubernetes.utils import parse_quantity

from ipynb_tools.kube.render import (
    FULL_NAME_ANNOTATION,
    KubeRenderError,
    apply_to_pod,
    claim_name,
    course_claims,
    millicores,
    pod_fields,
    pod_manifest,
    resources,
)
from ipynb_tools.params.text import parse
from ipynb_tools.spec import build_spec
from ipynb_tools.volumes.naming import parse_full_name

HOST = "moodle.example.ac.jp"
PARAMS = """\
lms_users=*
lms_teachers=tanaka
lms_cpulimit=1.5
lms_memlimit=536,870,912
lms_memgrnt=268,435,456
lms_cpugrnt=0.5
lms_vol_k1=課題1
lms_sub_k1=課題1提出用
lms_prs_k1=個人
"""
SUBDOMAIN = re.compile(r"[a-z0-9]([-a-z0-9.]*[a-z0-9])?")
LABEL = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?")


def spec_for(user: str = "alice", text: str = PARAMS, **kw: Any):
    kw.setdefault("default_image", "registry.example.ac.jp/jupyter/ipynb-tools:2025.1")
    return build_spec(parse(text), user, uid=31001, gid=100, course="98", lti_id="7", host=HOST, random="r4nd", **kw)


def as_model(body: dict[str, Any], kind: str) -> Any:
    """The client's reader of API answers (JSON text -> model); required fields missing raise ValueError."""
    return client.ApiClient().deserialize(json.dumps(body), kind, "application/json")


def round_trip(body: dict[str, Any], kind: str) -> Any:
    model = as_model(body, kind)
    assert client.ApiClient().sanitize_for_serialization(model) == body
    return model


def test_pod_is_a_valid_v1_pod_with_the_specs_environment_mounts_and_limits() -> None:
    spec = spec_for()
    manifest = pod_manifest(spec, name="jupyter-alice", namespace="course-98")
    pod = round_trip(manifest, "V1Pod")
    [notebook] = pod.spec.containers
    assert notebook.name == "notebook" and notebook.image == spec.image
    assert {e.name: e.value for e in notebook.env} == spec.environment
    assert notebook.security_context.run_as_user == 0  # setup runs as root, then drops to NB_UID
    mounts = {m.mount_path: m.name for m in notebook.volume_mounts}
    claims = {v.name: v.persistent_volume_claim.claim_name for v in pod.spec.volumes}
    assert {path: claims[name] for path, name in mounts.items()} == {
        m.target: claim_name(m.volume) for m in spec.mounts
    }
    assert len(spec.mounts) == 2  # task and submit; the personal directory lives in the home
    for name in claims:
        assert LABEL.fullmatch(name) and len(name) <= 63
    assert parse_quantity(notebook.resources.limits["memory"]) == 536_870_912
    assert parse_quantity(notebook.resources.limits["cpu"]) == Decimal("1.5")
    assert parse_quantity(notebook.resources.requests["memory"]) == 268_435_456
    assert parse_quantity(notebook.resources.requests["cpu"]) == Decimal("0.5")
    assert pod.metadata.labels["io.ipynb-tools.course"] == "98"
    assert pod.metadata.labels["io.ipynb-tools.role"] == "student"


def test_course_claims_are_valid_rwx_claims_named_by_the_rules() -> None:
    spec = spec_for()
    claims = course_claims(spec, size="20Gi", storage_class="cephfs", namespace="course-98")
    assert len(claims) == 2
    for body, mount in zip(claims, spec.mounts, strict=True):
        claim = round_trip(body, "V1PersistentVolumeClaim")
        assert claim.spec.access_modes == ["ReadWriteMany"]
        assert parse_quantity(claim.spec.resources.requests["storage"]) == 20 * 2**30
        assert claim.spec.storage_class_name == "cephfs"
        assert claim.metadata.annotations[FULL_NAME_ANNOTATION] == mount.volume
        assert SUBDOMAIN.fullmatch(claim.metadata.name) and len(claim.metadata.name) <= 253
        assert claim.metadata.labels == mount.labels
    # every launch of the course gives the same claims (applying again changes nothing)
    assert course_claims(spec_for("bob"), size="20Gi", storage_class="cephfs", namespace="course-98") == claims
    assert "storageClassName" not in course_claims(spec)[0]["spec"]  # the cluster's default class


def test_claim_names_follow_rfc_1123_and_stay_distinct() -> None:
    assert claim_name(f"lms_sub_k1_98_{HOST}") == "lms-sub-k1-98-moodle.example.ac.jp"
    long_a = "lms_vol_a_" + "9" * 300 + "_" + HOST
    long_b = "lms_vol_b_" + "9" * 300 + "_" + HOST
    assert len(claim_name(long_a)) <= 253 and SUBDOMAIN.fullmatch(claim_name(long_a))
    assert claim_name(long_a) != claim_name(long_b)
    with pytest.raises(KubeRenderError, match="no Kubernetes claim name"):
        claim_name("___")


@pytest.mark.parametrize(
    "first,second",
    [
        (f"lms_sub_k1_A_{HOST}", f"lms_sub_k1_a_{HOST}"),  # LTI context ids are case-sensitive
        ("lms_sub_k1_98_moodle-x.jp", "lms_sub_k1_98_moodle_x.jp"),  # course 98 at moodle-x.jp, 98_moodle at x.jp
        (f"lms_sub_k1_9_8_{HOST}", f"lms_sub_k1_9-8_{HOST}"),
        (f"lms_sub_k1_98__{HOST}", f"lms_sub_k1_98_{HOST}"),  # course "98_" (COURSE_RE allows it) and "98"
    ],
)
def test_claim_names_of_two_courses_never_merge(first: str, second: str) -> None:
    """Two volumes that lowercasing and ``_`` -> ``-`` would map together keep separate claims
    (one claim would give one course's pods the other's submissions)."""
    assert parse_full_name(first) != parse_full_name(second)  # both are real, different volumes
    names = {claim_name(first), claim_name(second)}
    assert len(names) == 2
    assert all(SUBDOMAIN.fullmatch(n) and len(n) <= 253 for n in names)


@pytest.mark.parametrize(
    "params,limits,requests",
    [
        ("lms_users=*", {"memory": "2Gi", "cpu": "2"}, {"memory": "1Gi"}),  # the site's values stay
        ("lms_users=*\nlms_memlimit=0\nlms_cpulimit=0.0", {}, {"memory": "1Gi"}),  # 0: no limit
        ("lms_users=*\nlms_memlimit=1,000,000,000", {"memory": "1000000000", "cpu": "2"}, {"memory": "1Gi"}),
    ],
)
def test_unset_keeps_the_site_default_and_zero_means_no_limit(params, limits, requests) -> None:
    site = {"limits": {"memory": "2Gi", "cpu": "2"}, "requests": {"memory": "1Gi"}}
    result = resources(spec_for(text=params), site)
    assert result.get("limits", {}) == limits
    assert result.get("requests", {}) == requests
    if result:
        as_model(result, "V1ResourceRequirements")


def test_a_cpu_guarantee_above_the_cpu_limit_is_cut_to_the_limit() -> None:
    """lms_cpugrnt above lms_cpulimit is only a warning (the limit wins, as Docker runs it); the pod
    must stay one the API server takes: a CPU request never above the CPU limit."""
    spec = spec_for(text="lms_users=*\nlms_cpulimit=0.5\nlms_cpugrnt=1\nlms_vol_k1=x")
    result = resources(spec, {"limits": {"cpu": "2"}})
    assert result == {"limits": {"cpu": "500m"}, "requests": {"cpu": "500m"}}
    pod = round_trip(pod_manifest(spec, name="jupyter-alice"), "V1Pod")
    [notebook] = pod.spec.containers
    assert parse_quantity(notebook.resources.requests["cpu"]) <= parse_quantity(notebook.resources.limits["cpu"])
    # below the limit the guarantee is the request as it is
    below = spec_for(text="lms_users=*\nlms_cpulimit=2\nlms_cpugrnt=0.5\nlms_vol_k1=x")
    assert resources(below)["requests"] == {"cpu": "500m"}


def test_millicores_round_up() -> None:
    assert millicores(1_500_000_000) == "1500m"
    assert millicores(1) == "1m"
    assert parse_quantity(millicores(250_000_000)) == Decimal("0.25")


def test_a_unicode_user_name_goes_to_the_annotations_not_the_labels() -> None:
    fields = pod_fields(spec_for("山田"))
    assert "io.ipynb-tools.user" not in fields["metadata"]["labels"]
    assert fields["metadata"]["annotations"]["io.ipynb-tools.user"] == "山田"
    round_trip(
        {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {"name": "p", **fields["metadata"]},
            "spec": {"containers": [fields["container"]], "volumes": fields["volumes"]},
        },
        "V1Pod",
    )


def test_apply_to_pod_adds_to_the_pod_kubespawner_built() -> None:
    """KubeSpawner's modify_pod_hook gets a V1Pod with its own container, env and volumes: ours are added."""
    pod = client.V1Pod(
        metadata=client.V1ObjectMeta(name="jupyter-alice", labels={"component": "singleuser-server"}),
        spec=client.V1PodSpec(
            containers=[
                client.V1Container(
                    name="notebook",
                    image="site/jupyter:1",
                    env=[
                        client.V1EnvVar(name="JUPYTERHUB_API_TOKEN", value="t"),
                        client.V1EnvVar(name="NB_USER", value="x"),
                    ],
                    resources=client.V1ResourceRequirements(limits={"memory": "2Gi", "cpu": "2"}),
                    volume_mounts=[client.V1VolumeMount(name="home", mount_path="/home/alice")],
                )
            ],
            volumes=[
                client.V1Volume(
                    name="home",
                    persistent_volume_claim=client.V1PersistentVolumeClaimVolumeSource(claim_name="home-alice"),
                )
            ],
        ),
    )
    spec = spec_for()
    apply_to_pod(pod, spec)
    body = client.ApiClient().sanitize_for_serialization(pod)
    round_trip(body, "V1Pod")
    [notebook] = pod.spec.containers
    env = {e.name: e.value for e in notebook.env}
    assert env["JUPYTERHUB_API_TOKEN"] == "t" and env["NB_USER"] == "alice"  # the hub's kept, ours over the site's
    assert pod.spec.volumes[0].name == "home" and len(pod.spec.volumes) == 3
    assert notebook.resources.limits == {"memory": "536870912", "cpu": "1500m"}
    assert notebook.resources.requests == {"memory": "268435456", "cpu": "500m"}
    assert pod.metadata.labels["component"] == "singleuser-server"
    with pytest.raises(KubeRenderError, match="no container named 'notebook'"):
        apply_to_pod(
            client.V1Pod(
                metadata=client.V1ObjectMeta(name="p"),
                spec=client.V1PodSpec(containers=[client.V1Container(name="other")]),
            ),
            spec,
        )
