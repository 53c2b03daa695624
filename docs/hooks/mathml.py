"""MkDocs hook: the formulas of the pages as MathML, made when the site is built.

``pymdownx.arithmatex`` (generic mode) finds the TeX on a page, ``$...$`` inline and ``$$...$$`` on
lines of their own, and wraps it in ``arithmatex`` elements; this hook turns each into MathML with
``latex2mathml``. Browsers draw MathML themselves, so the site needs no script and no network to
show its formulas.
"""

from __future__ import annotations

import html
import re
from typing import Any

from latex2mathml.converter import convert

_INLINE = re.compile(r'<span class="arithmatex">\\\((.+?)\\\)</span>', re.S)
_BLOCK = re.compile(r'<div class="arithmatex">\\\[(.+?)\\\]</div>', re.S)


def on_page_content(content: str, **kwargs: Any) -> str:
    content = _BLOCK.sub(lambda m: _mathml(m.group(1), "block"), content)
    return _INLINE.sub(lambda m: _mathml(m.group(1), "inline"), content)


def _mathml(tex: str, display: str) -> str:
    mathml = convert(html.unescape(tex).strip(), display=display)
    return f'<div class="math">{mathml}</div>' if display == "block" else mathml
