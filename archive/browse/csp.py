"""A Content-Security-Policy on every page Datasette serves for the archive.

Stored titles, texts and URLs come from strangers' pages. They are escaped
when rendered; the policy is the second line: should anything ever reach a
page as markup, the browser still runs no script it was not told to expect.

Datasette 0.65 has a few inline scripts of its own (closing open menus, the
SQL editor's setup, the table's facet flag). They are allowed by their SHA-256
hashes, taken from the templates themselves at startup, so an injected inline
script, which has another hash, is refused. Scripts from files come from this
server only ('self'). Styles stay 'unsafe-inline': Datasette's templates use
style attributes, and a style cannot run code.

Responses that set their own policy (the plugin's original-page route and its
wrapper, which are stricter) keep theirs.
"""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Awaitable, Callable, Iterable, Iterator, MutableMapping
from typing import Any

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
App = Callable[[Scope, Receive, Send], Awaitable[None]]

_INLINE_SCRIPT = re.compile(r"<script(?P<attrs>[^>]*)>(?P<body>.*?)</script>", re.DOTALL)
# Template expressions whose values are known: table.html's facet flag is one of two.
_KNOWN_VALUES = {"{{ datasette_allow_facet }}": ("true", "false")}


def script_hashes(sources: Iterable[str]) -> list[str]:
    """CSP hash sources for every inline script in the template sources whose text is
    fixed (or one of a few known renderings); scripts with other template
    expressions cannot be hashed ahead and stay blocked."""
    found: dict[str, None] = {}
    for source in sources:
        for m in _INLINE_SCRIPT.finditer(source):
            if "src=" in m["attrs"] or not m["body"].strip():
                continue
            bodies = [m["body"]]
            for expression, values in _KNOWN_VALUES.items():
                if expression in m["body"]:
                    bodies = [m["body"].replace(expression, v) for v in values]
            for body in bodies:
                if "{{" in body or "{%" in body:
                    continue
                digest = hashlib.sha256(body.encode("utf-8")).digest()
                found[f"'sha256-{base64.b64encode(digest).decode('ascii')}'"] = None
    return list(found)


def template_sources(datasette: Any) -> Iterator[str]:
    """The source of every template Datasette can render (its own, plugins', --template-dir)."""
    env = datasette.jinja_env
    for name in env.list_templates(extensions=["html"]):
        try:
            source, _, _ = env.loader.get_source(env, name)
        except (OSError, UnicodeDecodeError, LookupError):  # no hash from an unreadable one
            continue
        yield source


def policy(hashes: Iterable[str]) -> str:
    return "; ".join(
        [
            "default-src 'self'",
            "script-src 'self' " + " ".join(hashes),
            "style-src 'self' 'unsafe-inline'",
            "img-src 'self' data:",
            "object-src 'none'",
            "base-uri 'none'",
            "form-action 'self'",
            "frame-ancestors 'self'",
        ]
    )


def csp_wrapper(datasette: Any) -> Callable[[App], App]:
    def wrap(app: App) -> App:
        header: list[bytes] = []  # computed on the first request: every plugin is loaded by then

        async def with_csp(scope: Scope, receive: Receive, send: Send) -> None:
            if scope["type"] != "http":
                await app(scope, receive, send)
                return
            if not header:
                header.append(policy(script_hashes(template_sources(datasette))).encode())

            async def send_with_csp(message: Message) -> None:
                if message["type"] == "http.response.start":
                    headers = list(message.get("headers", []))
                    names = {bytes(k).lower() for k, _ in headers}
                    if b"content-security-policy" not in names:
                        headers.append((b"content-security-policy", header[0]))
                        message = dict(message, headers=headers)
                await send(message)

            await app(scope, receive, send_with_csp)

        return with_csp

    return wrap
