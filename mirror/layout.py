"""How a mirror directory answers URLs.

A mirror is a directory with one folder per host (``www.lebanontab.com/``).
A request for ``https://HOST/PATH`` is answered, in order, by:

1. a ``[[route]]`` in ``HOST/_mirror.toml`` whose ``url`` equals PATH?QUERY
   (percent-escapes decoded, so Arabic may be written as is): it may name a
   ``file``, a ``redirect`` target, a ``status``, a ``content_type``, extra
   ``headers``, ``fail_first``/``retry_after``/``fail_status`` to answer the
   first N requests with 503 or another status (for retry tests), and a
   ``fault``: ``reset`` (the connection is dropped before any answer),
   ``truncate`` (the body stops half-way, short of its Content-Length) or
   ``stall`` (no answer at all, until the client gives up);
2. the file ``HOST/PATH`` (decoded), or ``HOST/PATH/index.html`` when PATH
   names a folder; a URL with a query string needs a route;
3. otherwise 404.

Content types come from the route, else the file extension; a file without
an extension is HTML. ``[host]`` in ``_mirror.toml`` sets ``gzip = true`` (gzip
bodies when the client accepts gzip, as many real servers do) and ``headers``
added to every response. Charset: ``content_type`` is sent exactly as written,
so a route can serve a windows-1256 page with no charset at all.
"""

from __future__ import annotations

import mimetypes
import threading
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote, urljoin

CONFIG_NAME = "_mirror.toml"
# What a route's `fault` may be: how the server misbehaves (mirror/server.py does it).
FAULTS = {None, "reset", "truncate", "stall"}
_TYPES = {
    "": "text/html; charset=utf-8",
    ".html": "text/html; charset=utf-8",
    ".xml": "application/xml; charset=utf-8",
    ".txt": "text/plain; charset=utf-8",
    ".json": "application/json",
}


@dataclass
class Answer:
    status: int
    headers: list[tuple[str, str]]
    body: bytes
    gzip_ok: bool = False
    fault: str | None = None


@dataclass
class Route:
    url: str
    file: str | None = None
    redirect: str | None = None
    status: int | None = None
    content_type: str | None = None
    headers: dict[str, str] = field(default_factory=dict)
    fail_first: int = 0
    retry_after: int | None = None
    fail_status: int = 503
    fault: str | None = None

    def __post_init__(self) -> None:
        if self.fault not in FAULTS:
            raise ValueError(f"route {self.url}: fault must be one of {sorted(FAULTS - {None})}")


@dataclass
class HostConfig:
    gzip: bool = False
    headers: dict[str, str] = field(default_factory=dict)
    routes: dict[str, Route] = field(default_factory=dict)


def _route_key(target: str) -> str:
    return unquote(target, errors="replace")


def load_host_config(folder: Path) -> HostConfig:
    path = folder / CONFIG_NAME
    if not path.exists():
        return HostConfig()
    with path.open("rb") as f:
        data: dict[str, Any] = tomllib.load(f)
    host = data.get("host", {})
    routes = {}
    for entry in data.get("route", []):
        route = Route(**entry)
        routes[_route_key(route.url)] = route
    return HostConfig(
        gzip=bool(host.get("gzip", False)), headers=dict(host.get("headers", {})), routes=routes
    )


class Mirror:
    """Answers requests from a mirror directory. Thread-safe; configs load once."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root).resolve()
        if not self.root.is_dir():
            raise FileNotFoundError(f"mirror directory not found: {self.root}")
        self._configs: dict[str, HostConfig] = {}
        self._failures: dict[tuple[str, str], int] = {}
        self._lock = threading.Lock()

    def hosts(self) -> list[str]:
        return sorted(p.name for p in self.root.iterdir() if p.is_dir() and "." in p.name)

    def _config(self, host: str) -> HostConfig:
        with self._lock:
            if host not in self._configs:
                self._configs[host] = load_host_config(self.root / host)
            return self._configs[host]

    def answer(self, method: str, host: str, target: str) -> Answer:
        host = host.lower().split(":")[0]
        folder = (self.root / host).resolve()
        if folder.parent != self.root or not folder.is_dir():
            return _text(502, f"arshif mirror: no site for host {host}\n")
        config = self._config(host)
        answer = self._resolve(host, folder, config, target)
        answer.headers = [*config.headers.items(), *answer.headers]
        answer.gzip_ok = config.gzip and answer.status == 200
        if method == "HEAD":
            answer.body = b""
        return answer

    def _resolve(self, host: str, folder: Path, config: HostConfig, target: str) -> Answer:
        route = config.routes.get(_route_key(target))
        if route is not None:
            return self._from_route(host, folder, route, target)
        path, _, query = target.partition("?")
        if query:
            return _text(404, "not in mirror (URLs with a query need a route)\n")
        return self._from_file(folder, unquote(path, errors="replace"), None, 200, {})

    def _from_route(self, host: str, folder: Path, route: Route, target: str) -> Answer:
        if route.fail_first:
            key = (host, route.url)
            with self._lock:
                seen = self._failures.get(key, 0)
                self._failures[key] = seen + 1
            if seen < route.fail_first:
                headers = (
                    [("Retry-After", str(route.retry_after))]
                    if route.retry_after is not None
                    else []
                )
                answer = _text(route.fail_status, "temporarily unavailable\n")
                answer.headers += headers
                return answer
        answer = self._route_answer(host, folder, route, target)
        answer.fault = route.fault
        return answer

    def _route_answer(self, host: str, folder: Path, route: Route, target: str) -> Answer:
        if route.redirect:
            location = urljoin(f"https://{host}{target}", route.redirect)
            answer = _text(route.status or 301, "moved\n")
            answer.headers.append(("Location", _ascii_url(location)))
            return answer
        if route.file:
            return self._from_file(
                folder,
                "/" + route.file.lstrip("/"),
                route.content_type,
                route.status or 200,
                route.headers,
            )
        return _text(route.status or 204, "")

    def _from_file(
        self, folder: Path, path: str, content_type: str | None, status: int, extra: dict[str, str]
    ) -> Answer:
        candidate = (folder / path.lstrip("/")).resolve()
        if not candidate.is_relative_to(folder):
            return _text(403, "forbidden\n")
        if candidate.is_dir():
            candidate = candidate / "index.html"
        if not candidate.is_file() or candidate.name == CONFIG_NAME:
            return _text(404, "not in mirror\n")
        if content_type is None:
            content_type = _TYPES.get(candidate.suffix) or (
                mimetypes.guess_type(candidate.name)[0] or "application/octet-stream"
            )
        headers = [("Content-Type", content_type), *extra.items()]
        return Answer(status, headers, candidate.read_bytes())


def _text(status: int, message: str) -> Answer:
    return Answer(status, [("Content-Type", "text/plain; charset=utf-8")], message.encode())


def _ascii_url(url: str) -> str:
    return quote(url, safe=":/?#[]@!$&'()*+,;=%-._~")
