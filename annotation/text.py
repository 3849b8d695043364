"""Researcher-written Markdown (consent, instructions) rendered safely for participants.

Raw HTML is shown as text, never interpreted, and links or images may only point to
http(s), mailto or relative addresses (no ``javascript:`` or ``data:``).
"""

from __future__ import annotations

import markdown
from django.utils.safestring import SafeString, mark_safe
from markdown.extensions import Extension
from markdown.treeprocessors import Treeprocessor

SAFE_SCHEMES = ("http://", "https://", "mailto:", "/", "#")


class _SafeLinks(Treeprocessor):
    def run(self, root):
        for element in root.iter():
            for attribute in ("href", "src"):
                value = element.get(attribute)
                if value is not None and not value.strip().lower().startswith(SAFE_SCHEMES):
                    del element.attrib[attribute]
            if element.tag == "a" and element.get("href", "").startswith(("http://", "https://")):
                element.set("rel", "noopener noreferrer")
                element.set("target", "_blank")


class _EscapeHtml(Extension):
    def extendMarkdown(self, md):
        md.preprocessors.deregister("html_block")
        md.inlinePatterns.deregister("html")
        md.treeprocessors.register(_SafeLinks(md), "safe_links", 0)


def render_markdown(text: str) -> SafeString:
    return mark_safe(markdown.markdown(text or "", extensions=[_EscapeHtml()]))  # noqa: S308 - escaped above
