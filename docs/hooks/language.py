"""MkDocs hook: the pages under ``zh/`` are Chinese pages, with ``<html lang="zh">`` and Material's
Chinese furniture ("目录", "搜索", "下一页").

Material reads ``theme.language`` each time it renders a page (``partials/language.html``), so
this hook sets it to ``zh`` for the pages under ``docs/zh/`` and back to the site's language for
the others. The site stays one site with one navigation and one search index, which indexes the
Chinese text as words (see ``search`` in ``mkdocs.yml``: jieba segments it, with the words of
``docs/hooks/jieba-words.txt`` kept whole).
"""

from __future__ import annotations

from typing import Any

LANGUAGES = {"zh/": "zh"}  # the folder of a translation: its language

_site_language = "en"


def on_config(config: Any, **kwargs: Any) -> Any:
    global _site_language
    _site_language = config.theme["language"]
    return config


def language_of(src_uri: str) -> str:
    """The language of the page at ``src_uri`` (its path under ``docs/``)."""
    return next((lang for folder, lang in LANGUAGES.items() if src_uri.startswith(folder)), _site_language)


def on_page_context(context: dict[str, Any], page: Any, config: Any, **kwargs: Any) -> dict[str, Any]:
    config.theme["language"] = language_of(page.file.src_uri)
    return context


def on_post_page(output: str, page: Any, config: Any, **kwargs: Any) -> str:
    config.theme["language"] = _site_language
    return output
