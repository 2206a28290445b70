"""The course console (issue 15): the old Moodle module's tabs as a web application served as a
JupyterHub service (docs/console.md).

``app.py`` (the tornado application and the list of page modules), ``config.py`` (the settings),
``base.py`` (the base handler: hub OAuth, access check, Jinja2 + gettext), ``access.py`` (who may do
what), ``launches.py`` (the LTI launches the hub has seen), ``hubapi.py`` (the hub's REST API),
``service.py`` (what the handlers share); the data of each page in its own module (``overview.py``,
``users.py``, ``volumes.py``, ``myserver.py``...), its handlers under ``pages/``, its template under
``templates/``.
"""
