"""``python -m conf_server`` is the same as the ``conf-server`` command."""

from .cli import main

raise SystemExit(main())
