"""ipynb-tools: run programming courses on Jupyter from an LMS.

This package keeps its top level free of imports so that the in-container
commands start fast; import the module you need (``ipynb_tools.deploy``,
``ipynb_tools.notebook`` ...).
"""

__version__ = "0.1.0"
