"""MkDocs hook: the docstrings' Sphinx roles (``:class:`~a.b.C```) as code, linked where the page has the target.

The docstrings are numpydoc and use Sphinx's roles to name other objects; mkdocstrings renders
their Markdown, which leaves ``:class:`` in front of the code span. This hook drops the role, shows
the last component for a ``~`` name, and links the name to its entry when that entry is on the same
page (the API page's headings have the object's full path as their id).
"""

from __future__ import annotations

import re
from typing import Any

_ROLE = re.compile(r":(?:class|func|meth|mod|attr|data|exc|obj):<code>(~?)([\w.]+)</code>")
_ID = re.compile(r'\bid="([\w.]+)"')


def on_page_content(content: str, **kwargs: Any) -> str:
    ids = set(_ID.findall(content))

    def replace(match: re.Match[str]) -> str:
        short, name = match.group(1), match.group(2)
        shown = f"<code>{name.rpartition('.')[2] if short else name}</code>"
        return f'<a href="#{name}">{shown}</a>' if name in ids else shown

    return _ROLE.sub(replace, content)
