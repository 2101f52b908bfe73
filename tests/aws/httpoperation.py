"""Which AWS operation an HTTP request is, from the request alone and botocore's models.

For requests that no botocore hook saw (another process's, a presigned URL's): the
service comes from the SigV4 credential scope (header or presigned query), the operation
from the protocol the request itself shows: the X-Amz-Target header (JSON protocols),
`Action=` (query protocols: EC2, IAM, STS, CloudFormation), the path of Smithy RPC v2,
and for REST services (S3, Lambda) the operation whose
HTTP method, URI template, literal query keys and required header and query members fit
best. policyrecord checks this against every request the hooks did see.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import botocore.session

CREDENTIAL = re.compile(r"Credential=[^/,\s]+/\d{8}/[^/]+/([^/]+)/aws4_request")
RPC_V2 = re.compile(r"^/service/[^/]+/operation/([^/]+)$")
SKIP_QUERY = {"x-id"}  # botocore's own hint naming the operation (newer clients only)


@dataclass(frozen=True)
class HttpRequest:
    method: str
    url: str
    headers: dict[str, str]
    body: bytes = b""

    def header(self, name: str) -> str:
        wanted = name.lower()
        return next((v for k, v in self.headers.items() if k.lower() == wanted), "")

    @property
    def query(self) -> dict[str, list[str]]:
        return parse_qs(urlsplit(self.url).query, keep_blank_values=True)

    @property
    def presigned(self) -> bool:
        return "X-Amz-Credential" in self.query or "AWSAccessKeyId" in self.query


@cache
def _botocore() -> Any:
    return botocore.session.get_session()


@cache
def service_for_scope(scope: str) -> str:
    """The botocore service name whose signing name is `scope` (s3, ec2, monitoring...)."""
    session = _botocore()
    if scope in session.get_available_services():
        model = session.get_service_model(scope)
        if model.signing_name == scope:
            return scope
    for name in session.get_available_services():
        if session.get_service_model(name).signing_name == scope:
            return name
    raise LookupError(f"no botocore service signs as {scope!r}")


def signing_scope(request: HttpRequest) -> str:
    """The service part of the request's SigV4 credential ('' for an unsigned request)."""
    credential = request.query.get("X-Amz-Credential", [""])[0]
    if credential:
        parts = credential.split("/")
        return parts[3] if len(parts) == 5 else ""
    found = CREDENTIAL.search(request.header("Authorization"))
    return found.group(1) if found else ""


def _template(uri: str) -> tuple[re.Pattern[str], set[str]]:
    """The path pattern and literal query keys of a model's requestUri."""
    path, _, query = uri.partition("?")
    pattern = re.escape(path)
    pattern = re.sub(r"\\\{[^}]+\\\+\\\}", ".+", pattern)  # {Key+}: greedy, slashes too
    pattern = re.sub(r"\\\{[^}]+\\\}", "[^/]+", pattern)
    keys = {part.split("=")[0] for part in query.split("&") if part} - SKIP_QUERY
    return re.compile(f"^{pattern}/?$"), keys


def _required(op: Any, location: str) -> set[str]:
    shape = op.input_shape
    if shape is None:
        return set()
    names = set()
    for member in shape.required_members:
        where = shape.members[member].serialization
        if where.get("location") == location:
            names.add(where.get("name", member).lower())
    return names


def _rest_operation(model: Any, request: HttpRequest, path: str) -> str:
    query = {k.lower() for k in request.query}
    headers = {k.lower() for k in request.headers}
    hinted = request.query.get("x-id", [""])[0]
    if hinted in model.operation_names:
        return str(hinted)
    best: list[tuple[int, int, str]] = []
    for name in model.operation_names:
        op = model.operation_model(name)
        if op.http.get("method", "").upper() != request.method.upper():
            continue
        pattern, keys = _template(op.http.get("requestUri", "/"))
        if not pattern.match(path):
            continue
        needed_query = {k.lower() for k in keys} | _required(op, "querystring")
        needed_headers = _required(op, "header")
        if not needed_query <= query or not needed_headers <= headers:
            continue
        # Between equals, not the one made for S3 Express's own endpoint (ListBuckets
        # and ListDirectoryBuckets are both GET /).
        plain = not any(
            p.name == "UseS3ExpressControlEndpoint" for p in op.static_context_parameters
        )
        best.append((len(needed_query) + len(needed_headers), int(plain), name))
    if not best:
        raise LookupError(f"no {model.service_name} operation is {request.method} {path}")
    best.sort(reverse=True)
    if len(best) > 1 and best[0][:2] == best[1][:2]:
        raise LookupError(f"{request.method} {path} could be {best[0][2]} or {best[1][2]}")
    return best[0][2]


def _known(model: Any, name: str) -> str:
    if name not in model.operation_names:
        raise LookupError(f"{model.service_name} has no operation {name!r}")
    return name


def operation(request: HttpRequest, endpoint_host: str) -> tuple[str, str]:
    """(botocore service name, operation name) of `request`, sent to `endpoint_host`."""
    scope = signing_scope(request)
    if not scope:
        raise LookupError(f"unsigned request {request.method} {request.url}")
    service = service_for_scope(scope)
    model = _botocore().get_service_model(service)
    # The request says its protocol (a model may list several, and clients differ).
    target = request.header("X-Amz-Target")
    if target:  # JSON protocols: Prefix.Operation
        return service, _known(model, target.rpartition(".")[2])
    form = parse_qs(request.body.decode(errors="replace")) if request.body else {}
    action = (form.get("Action") or request.query.get("Action") or [""])[0]
    if action:  # query protocols (EC2, IAM, STS, CloudFormation)
        return service, _known(model, action)
    parts = urlsplit(request.url)
    path = unquote(parts.path) or "/"
    rpc = RPC_V2.match(path)
    if rpc:  # Smithy RPC v2: POST /service/NAME/operation/OPERATION
        return service, _known(model, rpc.group(1))
    host = request.header("Host") or parts.netloc
    if service == "s3" and host != endpoint_host and host.endswith(f".{endpoint_host}"):
        path = f"/{host[: -len(endpoint_host) - 1]}{path}"  # virtual-hosted style
    return service, _rest_operation(model, request, path)
