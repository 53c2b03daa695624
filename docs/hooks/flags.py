"""MkDocs hook: a command-line flag in code (``--learning-rate``, ``-q``) stays on one
line: it gets the class ``flag``, which ``docs/style.css`` keeps from breaking at its hyphens.

Only short code that starts with a dash is a flag; a long call in a table still breaks between
words, so that no column is pushed narrow by another's unbreakable code.
"""

from __future__ import annotations

import re
from typing import Any

_FLAG = re.compile(r"<code>(-{1,2}[A-Za-z][\w\-]*)</code>")


def on_page_content(content: str, **kwargs: Any) -> str:
    return _FLAG.sub(r'<code class="flag">\1</code>', content)
