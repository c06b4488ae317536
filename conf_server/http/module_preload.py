"""``<link rel="modulepreload">`` for every module a page loads (issue 21), when
pages load the client's source modules (without a current bundle:
:mod:`.client_bundle`).

A page names one entry module, whose imports the browser discovers only as
each module arrives, four levels deep for the room page, so 50-odd small files
came one level after another. Listing every module the entry imports
(statically, transitively) in the page's head lets the browser fetch them all
at once, in parallel with the HTML's parsing.

The list is read from the files when the server starts; only static
``import … from "…"``, ``import "…"`` and ``export … from "…"`` statements at
the start of a line count (JSDoc ``import("…")`` types in comments do not).
"""

from __future__ import annotations

import html
import posixpath
import re
from collections import deque
from pathlib import Path

#: A static import or re-export at the start of a line; group 1 or 2 is the specifier.
_STATIC_IMPORT = re.compile(
    r"""^[ \t]*(?:import|export)\b[^;"'`()]*?\bfrom\s*["']([^"']+)["']"""
    r"""|^[ \t]*import\s*["']([^"']+)["']""",
    re.MULTILINE,
)
#: Where the client's modules are served from, and the folder that holds them.
STATIC_JS = "/static/js/"
_ENTRY_SCRIPT = re.compile(r"""<script type="module" src="([^"]+)"></script>""")


def module_urls(js_dir: Path, entry_url: str) -> list[str]:
    """``entry_url`` and the URL of every module it imports, transitively,
    nearest first. Modules outside ``/static/js/`` (the vendored socket.io
    client) are listed but not read."""
    found = [entry_url]
    queue = deque([entry_url])
    while queue:
        url = queue.popleft()
        if not url.startswith(STATIC_JS):
            continue
        path = js_dir / url[len(STATIC_JS) :]
        try:
            source = path.read_text(encoding="utf-8")
        except OSError:
            continue  # a missing module fails in the browser as it would have
        for match in _STATIC_IMPORT.finditer(source):
            specifier = match.group(1) or match.group(2)
            if specifier.startswith("."):
                specifier = posixpath.normpath(posixpath.join(posixpath.dirname(url), specifier))
            if specifier.endswith(".json"):
                continue  # a JSON module (a message catalog) is not a script to preload
            if specifier.startswith("/") and specifier not in found:
                found.append(specifier)
                queue.append(specifier)
    return found


def with_module_preloads(page: str, js_dir: Path) -> str:
    """``page`` with a modulepreload link for each module its entry module
    imports, placed before the entry's ``<script type="module">`` tag."""
    entry = _ENTRY_SCRIPT.search(page)
    if entry is None:
        return page
    links = "".join(
        f'<link rel="modulepreload" href="{html.escape(url)}">\n  '
        for url in module_urls(js_dir, entry.group(1))[1:]
    )
    return page[: entry.start()] + links + page[entry.start() :]
