"""Execution logs (issue 13, SPEC 9): every cell run captured, collected, stored and queried.

- :mod:`.records`: the record type (client / server / session kinds) and its two wire forms;
- :mod:`.store`: the SQLAlchemy Core schema on SQLite or PostgreSQL;
- :mod:`.query`: the figures, aggregated by the database;
- :mod:`.importer`: loading log files (``logs import``);
- :mod:`.collector`: the HTTP service (JupyterHub tokens, the old proxy's form posts);
- :mod:`.capture`, :mod:`.buffer`, :mod:`.client`: the server-extension side (observe the kernel
  websocket, spool on disk, send in batches).

Nothing is imported here: the server extension and the in-container commands stay light.
"""
