"""JupyterHub side of ipynb-tools (the ``hub`` extra).

- :mod:`ipynb_tools.launch` (pure, no JupyterHub import): what a launch says, read from the
  authenticator's ``auth_state`` (LTI 1.1 form fields or the LTI 1.3 id token claims): custom
  parameters, role, course, LTI id, LMS host; and the message that refuses a bad launch.
- :mod:`ipynb_tools.hub.spawner`: :class:`~ipynb_tools.hub.spawner.LTIContainerSpawner`, a
  DockerSpawner that starts the container of :func:`ipynb_tools.spec.build_spec`.
- ``start-singleuser.sh``: the container's entry (root: ``ipynb-tools setup``, then the user's
  ``jupyterhub-singleuser``).
"""

from __future__ import annotations

from pathlib import Path

#: The container entry script shipped with the package.
START_SCRIPT = Path(__file__).with_name("start-singleuser.sh")
