"""MkDocs hook: the docstrings' Sphinx roles (``:class:`~a.b.C```) as code, linked where the page has the target.

The docstrings are numpydoc and name other objects with Sphinx's roles; mkdocstrings renders their
Markdown, which leaves ``:class:`` in front of the code span. This hook drops the role, shows the
last component of a ``~`` name, and links the name to its entry when that entry is on the same page:
the API page's entries have the object's full path as their id, and a short name (``TrainConfig``,
``Backend.new_model``) links when exactly one entry's path ends with it.
"""

from __future__ import annotations

import re
from typing import Any

_ROLE = re.compile(r":(?:class|func|meth|mod|attr|data|exc|obj):<code>(~?)([\w.]+)</code>")
_ID = re.compile(r'\bid="([\w.]+)"')


def on_page_content(content: str, **kwargs: Any) -> str:
    ids = set(_ID.findall(content))

    def target(name: str) -> str | None:
        if name in ids:
            return name
        ends = [i for i in ids if i.endswith("." + name)]
        return ends[0] if len(ends) == 1 else None

    def replace(match: re.Match[str]) -> str:
        short, name = match.group(1), match.group(2)
        shown = f"<code>{name.rpartition('.')[2] if short else name}</code>"
        found = target(name)
        return f'<a href="#{found}">{shown}</a>' if found else shown

    return _ROLE.sub(replace, content)
