"""``python -m conf_bench`` is the same as ``conf-bench``."""

from .cli import main

raise SystemExit(main())
