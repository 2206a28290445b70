"""The console's pages: one module per page (or group of pages), each exporting ``HANDLERS`` (URL patterns
relative to the service prefix, handler classes derived from :class:`ipynb_tools.console.base.ConsoleHandler`)
and, for course tabs, ``TABS``. :data:`ipynb_tools.console.app.PAGE_MODULES` lists them."""
