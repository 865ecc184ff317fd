"""A browser-like client for the site in process: treq's StubTreq over the real resource
(Klein routes, Jinja pages, the JSON API), cookies kept like a browser keeps them, forms
submitted with the CSRF token the page embeds.  Database work runs through the runner the site
was built with (InlineRunner here: in virtual time there is no thread pool to wait for)."""
from __future__ import annotations

import json
import re
from dataclasses import dataclass
from html import unescape
from urllib.parse import urlencode

from treq.testing import StubTreq


@dataclass
class Response:
    code: int
    headers: dict[str, list[str]]
    body: bytes

    @property
    def text(self) -> str:
        return self.body.decode("utf-8")

    def json(self):
        return json.loads(self.body)

    def header(self, name: str) -> str | None:
        values = self.headers.get(name.lower())
        return values[0] if values else None


class WebClient:
    def __init__(self, site, flush=None) -> None:
        self.site = site
        self.treq = StubTreq(site.resource())
        self.cookies: dict[str, str] = {}
        self._flush = flush

    def request(self, method: str, path: str, *, data: dict | None = None,
                json_body=None, headers: dict | None = None, raw: bytes | None = None,
                follow: bool = False) -> Response:
        hdrs = {k: [v] for k, v in (headers or {}).items()}
        if self.cookies:
            hdrs["Cookie"] = ["; ".join(f"{k}={v}" for k, v in self.cookies.items())]
        body = raw
        if data is not None:
            body = urlencode(data).encode()
            hdrs["Content-Type"] = ["application/x-www-form-urlencoded"]
        if json_body is not None:
            body = json.dumps(json_body).encode()
            hdrs["Content-Type"] = ["application/json"]
        out = []
        d = self.treq.request(method, "http://site.test" + path, headers=hdrs, data=body,
                              allow_redirects=False)
        d.addBoth(out.append)
        self.treq.flush()
        if self._flush:
            while not out:
                self._flush()
                self.treq.flush()
        resp = out[0]
        if not hasattr(resp, "code"):
            resp.raiseException()
        content = []
        resp.content().addBoth(content.append)
        self.treq.flush()
        headers = {k.decode().lower(): [v.decode() for v in vs]
                   for k, vs in resp.headers.getAllRawHeaders()}
        for c in headers.get("set-cookie", []):
            name, _, rest = c.partition("=")
            value = rest.split(";", 1)[0]
            if "Max-Age=0" in c or value == "":
                self.cookies.pop(name, None)
            else:
                self.cookies[name] = value
        r = Response(resp.code, headers, content[0])
        if follow and r.code in (301, 302, 303) and r.header("location"):
            return self.request("GET", r.header("location"), follow=True)
        return r

    def get(self, path: str, **kw) -> Response:
        return self.request("GET", path, **kw)

    def post(self, path: str, data: dict | None = None, **kw) -> Response:
        return self.request("POST", path, data=data, **kw)

    # -- page helpers -----------------------------------------------------------------------------
    @staticmethod
    def hidden(page: str, name: str) -> str:
        m = re.search(rf'name="{name}" value="([^"]*)"', page)
        assert m, f"no hidden {name} in the page"
        return unescape(m.group(1))

    def login(self, number: str, password: str, path: str = "/login") -> Response:
        page = self.get(path).text
        return self.post(path, {"nonce": self.hidden(page, "nonce"), "number": number,
                                "password": password, "next": "/"}, follow=True)

    def submit(self, page_path: str, action: str, fields: dict, **kw) -> Response:
        page = self.get(page_path).text
        return self.post(action, {"csrf": self.hidden(page, "csrf"), **fields}, **kw)
