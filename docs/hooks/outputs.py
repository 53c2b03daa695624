"""MkDocs hook: a ``text`` block right after a ``python`` block is that code's output; mark it so.

The tutorial shows what each block of code prints in a ``text`` block under it (and
``tests/test_tutorial.py`` checks it). This hook gives such blocks the class ``output``, which
``docs/style.css`` draws apart from code.
"""

from __future__ import annotations

import re
from typing import Any

_PYTHON = r'<div class="language-python highlight">(?:(?!<div).)*?</code></pre></div>\s*'
_OUTPUT = re.compile(rf'({_PYTHON})<div class="language-text highlight">', re.S)


def on_page_content(content: str, **kwargs: Any) -> str:
    return _OUTPUT.sub(r'\1<div class="language-text highlight output">', content)
