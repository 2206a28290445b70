"""The LMS side: Moodle's own records of a course's LTI activities, read and edited safely (SPEC 10, 11).

``config`` reads a site's ``config.php`` without running PHP; ``database`` connects (SQLAlchemy:
PostgreSQL through psycopg, MariaDB/MySQL through PyMySQL) and knows the tables; ``activities``
lists a course's LTI activities in course order; ``automatic`` fills the keys the old module wrote
on save; ``store`` reads and writes an activity's custom parameters (checked, compare-and-set, in
one transaction); ``listing`` keeps which activities a course's listing hides; ``volumes`` creates
the volumes of a saved text. The console web app and the ``ipynb-tools moodle`` command use the same
functions (docs/lms.md).
"""
