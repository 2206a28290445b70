"""docs/jupyterhub_config.py loads, and every setting it makes is a real configurable trait."""

from __future__ import annotations

from pathlib import Path

import pytest
from jupyterhub.app import JupyterHub
from ltiauthenticator.lti11.auth import LTI11Authenticator
from traitlets.config.loader import PyFileConfigLoader

from ipynb_tools.hub.spawner import LTIContainerSpawner

DOCS = Path(__file__).resolve().parents[2] / "docs"


def test_example_config_uses_only_real_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LTI_CONSUMER_KEY", "key")
    monkeypatch.setenv("LTI_SHARED_SECRET", "secret")
    config = PyFileConfigLoader("jupyterhub_config.py", path=str(DOCS)).load_config()
    classes = {
        "JupyterHub": JupyterHub,
        "LTI11Authenticator": LTI11Authenticator,
        "Authenticator": LTI11Authenticator,
        "LTIContainerSpawner": LTIContainerSpawner,
        "DockerSpawner": LTIContainerSpawner,
        "Spawner": LTIContainerSpawner,
    }
    for section, values in config.items():
        traits = classes[section].class_trait_names(config=True)
        for key in values:
            assert key in traits, f"{section}.{key}"
    assert config.JupyterHub.spawner_class == "ipynb_tools.hub.spawner.LTIContainerSpawner"
    assert config.Authenticator.enable_auth_state is True


def test_example_config_lets_moodle_frame_the_hub_and_the_servers(monkeypatch: pytest.MonkeyPatch) -> None:
    """Issue 16 item 6: the documented embedding settings, as JupyterHub and the spawner will read them."""
    monkeypatch.setenv("LTI_CONSUMER_KEY", "key")
    monkeypatch.setenv("LTI_SHARED_SECRET", "secret")
    config = PyFileConfigLoader("jupyterhub_config.py", path=str(DOCS)).load_config()
    settings = config.JupyterHub.tornado_settings
    moodle = "https://moodle.example.ac.jp"
    assert settings["headers"]["Content-Security-Policy"] == f"frame-ancestors 'self' {moodle}"
    # the names tornado's set_cookie takes; JupyterHub passes them to every hub cookie and to each server
    assert settings["cookie_options"] == {"samesite": "None", "secure": True}
    assert config.LTIContainerSpawner.lms_origins == [moodle]
    # the same origin is the LTI 1.3 issuer in the commented example and the documented Moodle host
    assert config.LTIContainerSpawner.lms_host == "moodle.example.ac.jp"
