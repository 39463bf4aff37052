"""Skiff Python FDK: serves one user handler over HTTP/1.1 on a unix socket.

Launched inside the sandbox as ``/usr/bin/python3 -u -B /skiff/fdk/fdk.py``.
Python 3.9+ standard library only: the sandbox has no pip packages.

Environment:
  FN_LISTENER  path of the unix socket to serve on (required)
  FN_CODE_DIR  directory with the user's code (default /code)
  FN_HANDLER   "module.function" to call (default handler.handle)
  FN_NAME      the function's name, exposed as context.function_name

Contract (same as the OpenFaaS python3-http template): ``handle(event, context)``
  event.body (bytes), .headers (case-insensitive str->str), .method, .path,
  .query (str->first value), .query_list (str->list of values)
  context.hostname, .function_name, .call_id (X-Call-Id header or None)
Return str | bytes | None | dict | list; a dict with a statusCode, body or
headers key is a full response: {"statusCode": 200, "body": ..., "headers": {}}.

Logging: the handler's print() goes to stdout (unbuffered thanks to -u), the
FDK's own messages and tracebacks to stderr, both prefixed "[fdk]" so they can
be told apart from user output. There is deliberately no access log: the
platform records calls itself, and one line per call would drown user logs.
"""

import http.server
import importlib
import json
import os
import re
import signal
import socket
import socketserver
import sys
import threading
import time
import traceback
from collections.abc import Mapping
from urllib.parse import parse_qs, unquote, urlsplit

# How long SIGTERM waits for in-flight calls before exiting anyway.
DRAIN_SECONDS = 10.0
# Longest accepted request line / chunk-size line / trailer line.
MAX_LINE = 65536
# A header name must be an RFC 9110 token; a value must not contain CR/LF/NUL
# (otherwise a handler could inject headers or split the response).
_TOKEN = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")
_BAD_VALUE = re.compile(r"[\r\n\x00]")
_DIGITS = re.compile(r"^[0-9]+$")
_HEX = re.compile(rb"^[0-9A-Fa-f]+$")


def log(msg):
    """Prefixed line(s) on stderr for FDK messages, in one write so that
    messages from concurrent calls do not interleave line by line."""
    lines = str(msg).rstrip("\n").split("\n")
    sys.stderr.write("".join("[fdk] " + line + "\n" for line in lines))
    sys.stderr.flush()


class BadRequest(Exception):
    """The request could not be parsed; answered with 400 and the connection closed."""


# ---------------------------------------------------------------- event/context

class Headers(Mapping):
    """Case-insensitive, read-only str->str view of the request headers.

    Repeated headers are joined with ", " (RFC 9110 field combination), so a
    handler never has to deal with lists. Iteration yields the names as sent.
    """

    def __init__(self, pairs=()):
        self._items = {}  # lower-case name -> (name as sent, value)
        for name, value in pairs:
            key = name.lower()
            if key in self._items:
                first, old = self._items[key]
                self._items[key] = (first, old + ", " + value)
            else:
                self._items[key] = (name, value)

    def __getitem__(self, name):
        return self._items[name.lower()][1]

    def __contains__(self, name):
        return isinstance(name, str) and name.lower() in self._items

    def __iter__(self):
        return (name for name, _ in self._items.values())

    def __len__(self):
        return len(self._items)

    def __repr__(self):
        return "Headers(%r)" % dict(self.items())


class Event:
    """What the handler gets as its first argument."""

    def __init__(self, body, headers, method, path, query_list):
        self.body = body
        self.headers = headers
        self.method = method
        self.path = path
        self.query_list = query_list
        self.query = {k: v[0] for k, v in query_list.items()}

    def __repr__(self):
        return "Event(method=%r, path=%r, query=%r, %d body bytes)" % (
            self.method, self.path, self.query, len(self.body))


class Context:
    """What the handler gets as its second argument."""

    def __init__(self, hostname, function_name, call_id):
        self.hostname = hostname
        self.function_name = function_name
        self.call_id = call_id

    def __repr__(self):
        return "Context(function_name=%r, call_id=%r)" % (self.function_name, self.call_id)


# ---------------------------------------------------------------- responses

def _encode_body(body):
    """Body value -> (bytes, default Content-Type or None)."""
    if body is None:
        return b"", None
    if isinstance(body, str):
        return body.encode("utf-8"), "text/plain; charset=utf-8"
    if isinstance(body, (bytes, bytearray, memoryview)):
        return bytes(body), "application/octet-stream"
    if isinstance(body, (dict, list)):
        return json.dumps(body, ensure_ascii=False).encode("utf-8"), "application/json"
    raise TypeError("handler returned a body of type %s; use str, bytes, dict, list or None"
                    % type(body).__name__)


def to_response(result):
    """Handler return value -> (status, [(name, value)], body bytes).

    Raises TypeError/ValueError for values that cannot be sent; the caller
    reports those like an exception raised by the handler itself, since they
    are a bug in the handler just the same.
    """
    status, headers, body = 200, {}, result
    if isinstance(result, dict) and ({"statusCode", "body", "headers"} & result.keys()):
        status = result.get("statusCode", 200)
        headers = result.get("headers") or {}
        body = result.get("body")
        # bool is an int subclass; True as a status code is certainly a bug.
        if isinstance(status, bool) or not isinstance(status, int) or not 200 <= status <= 599:
            raise ValueError("statusCode must be an int between 200 and 599, got %r" % (status,))
        if not isinstance(headers, Mapping):
            raise TypeError("headers must be a dict, got %s" % type(headers).__name__)
    elif isinstance(result, (dict, list)):
        body = result  # a plain dict or list is a JSON document

    data, default_type = _encode_body(body)
    out = []
    for name, value in headers.items():
        name = str(name)
        if not _TOKEN.match(name):
            raise ValueError("invalid response header name %r" % name)
        # Framing is ours to decide: a wrong Content-Length would corrupt keep-alive.
        if name.lower() in ("content-length", "transfer-encoding"):
            continue
        # A list value sends the header once per item (e.g. several Set-Cookie).
        for v in (value if isinstance(value, (list, tuple)) else [value]):
            if v is None:
                continue
            v = str(v)
            if _BAD_VALUE.search(v):
                raise ValueError("invalid value for response header %r" % name)
            out.append((name, v))
    if default_type and not any(n.lower() == "content-type" for n, _ in out):
        out.insert(0, ("Content-Type", default_type))
    return status, out, data


# ---------------------------------------------------------------- HTTP server

class Server(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    # Daemon threads: an idle keep-alive connection must not keep the process
    # alive at exit. In-flight calls are awaited explicitly (see drain()).
    daemon_threads = True
    # The platform may open several connections at once on a cold start.
    request_queue_size = 128

    def __init__(self, path, handler_fn, function_name):
        self.handler_fn = handler_fn
        self.function_name = function_name
        self.hostname = socket.gethostname()
        self.draining = False
        self.inflight = 0
        self.idle = threading.Condition()
        super().__init__(path, RequestHandler, bind_and_activate=False)

    def server_bind(self):
        # A socket file left by a previous run makes bind() fail with EADDRINUSE.
        try:
            os.unlink(self.server_address)
        except FileNotFoundError:
            pass
        super().server_bind()
        # The caller may run as another uid than the sandboxed function.
        os.chmod(self.server_address, 0o666)

    def handle_error(self, request, client_address):
        # The default prints a traceback with the (empty) client address for
        # every dropped connection; a peer hanging up is routine, keep it short.
        exc = sys.exc_info()[1]
        if isinstance(exc, (ConnectionError, TimeoutError)):
            return
        log("unexpected error serving a connection:\n" + traceback.format_exc())

    def call_started(self):
        with self.idle:
            self.inflight += 1

    def call_finished(self):
        with self.idle:
            self.inflight -= 1
            self.idle.notify_all()

    def drain(self, timeout):
        """Wait until no call is in flight; False if the timeout expired first."""
        deadline = time.monotonic() + timeout
        with self.idle:
            while self.inflight:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self.idle.wait(left)
        return True


class RequestHandler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive; every response has a Content-Length
    server_version = "skiff-fdk-python"
    # The base class assumes HTTP/0.9 until the request line is parsed, and
    # answers a garbled request line without any status line at all; nobody
    # speaks 0.9 to us, so such errors get a proper "HTTP/1.1 400" response.
    default_request_version = "HTTP/1.1"

    # --- unix sockets have no client address (it is '' or a str), so the
    # --- base class's address-based logging must not be used.
    def version_string(self):
        return self.server_version  # the default appends the Python version

    def address_string(self):
        return "unix"

    def log_request(self, code="-", size="-"):
        pass  # no access log, see module docstring

    def log_message(self, fmt, *args):
        log(fmt % args)  # only errors reach here (e.g. send_error for 400)

    def __getattr__(self, name):
        # BaseHTTPRequestHandler dispatches to do_<METHOD>; send every method,
        # including ones we never heard of, to the user's handler.
        if name.startswith("do_") and _TOKEN.match(name[3:]):
            return self.handle_call
        raise AttributeError(name)

    def read_body(self):
        te = self.headers.get("Transfer-Encoding")
        if te is not None:
            # Transfer-Encoding wins over Content-Length (RFC 9112 6.3); only
            # chunked is supported, and it must be the final coding.
            if te.split(",")[-1].strip().lower() != "chunked":
                raise BadRequest("unsupported Transfer-Encoding: %s" % te)
            return self.read_chunked()
        lengths = {v.strip() for v in self.headers.get_all("Content-Length", [])}
        if not lengths:
            return b""
        # Several different lengths would make the message boundary ambiguous.
        if len(lengths) > 1 or not _DIGITS.match(next(iter(lengths))):
            raise BadRequest("invalid Content-Length: %s" % ", ".join(sorted(lengths)))
        n = int(lengths.pop())
        body = self.rfile.read(n)
        if len(body) != n:
            raise BadRequest("request body shorter than Content-Length")
        return body

    def read_line(self):
        line = self.rfile.readline(MAX_LINE + 1)
        if not line.endswith(b"\n") or len(line) > MAX_LINE:
            raise BadRequest("truncated or overlong line in chunked body")
        return line

    def read_chunked(self):
        parts = []
        while True:
            size_field = self.read_line().split(b";", 1)[0].strip()  # drop chunk extensions
            # Not int(x, 16) alone: it would also accept "0x1f", "+1" and "1_0".
            if not _HEX.match(size_field):
                raise BadRequest("invalid chunk size %r" % size_field)
            size = int(size_field, 16)
            if size == 0:
                break
            chunk = self.rfile.read(size)
            if len(chunk) != size or self.rfile.read(2) != b"\r\n":
                raise BadRequest("malformed chunk")
            parts.append(chunk)
        while self.read_line() not in (b"\r\n", b"\n"):
            pass  # trailer fields: accepted and ignored
        return b"".join(parts)

    def build_event(self, body):
        target = self.path
        if not target.startswith("/"):
            # absolute-form (http://host/p?q) or "*": let urlsplit find the path.
            parts = urlsplit(target)
            path, query = parts.path or "/", parts.query
        else:
            # Not urlsplit: it would read "//a/b" as host "a" and path "/b".
            path, _, query = target.partition("#")[0].partition("?")
        return Event(
            body=body,
            headers=Headers(self.headers.items()),
            method=self.command,
            path=unquote(path),  # decoded, like Flask's request.path in OpenFaaS
            query_list=parse_qs(query, keep_blank_values=True),
        )

    def handle_call(self):
        server = self.server
        server.call_started()
        try:
            try:
                body = self.read_body()
            except BadRequest as e:
                # The stream position is unknown now, so the connection cannot be reused.
                self.close_connection = True
                self.send_error(400, str(e))
                return
            event = self.build_event(body)
            context = Context(server.hostname, server.function_name, event.headers.get("X-Call-Id"))
            try:
                status, headers, data = to_response(server.handler_fn(event, context))
            except BaseException as e:  # noqa: B902 - even sys.exit() in a handler is its bug
                self.report_failure(e, context)
                return
            self.send(status, headers, data)
        finally:
            server.call_finished()

    def report_failure(self, exc, context):
        msg = str(exc)
        text = type(exc).__name__ + (": " + msg if msg else "")
        log("handler raised (call %s):\n%s" % (
            context.call_id or "-", "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))))
        self.send(500, [("Content-Type", "text/plain; charset=utf-8"), ("X-Fn-Error", "handler-raised")],
                  text.encode("utf-8"))

    def send(self, status, headers, data):
        if status in (204, 304):
            data = b""  # these never carry a body
        self.send_response(status)
        for name, value in headers:
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(data)))
        if self.server.draining:
            # Shutting down: tell the client not to reuse this connection.
            self.send_header("Connection", "close")
        self.end_headers()
        if self.command != "HEAD" and data:
            self.wfile.write(data)


# ---------------------------------------------------------------- startup

def load_handler(code_dir, spec):
    """Import "module.function" from code_dir; print why and exit 1 if impossible."""
    module_name, _, func_name = spec.rpartition(".")
    if not module_name or not func_name:
        log("FN_HANDLER must look like module.function, got %r" % spec)
        sys.exit(1)
    sys.path.insert(0, code_dir)
    try:
        module = importlib.import_module(module_name)
    except BaseException as e:  # SyntaxError, ImportError, anything module-level code raises
        log("cannot import handler module %r from %s: %s: %s"
            % (module_name, code_dir, type(e).__name__, e))
        log(traceback.format_exc())
        sys.exit(1)
    fn = getattr(module, func_name, None)
    if not callable(fn):
        log("handler module %r (%s) has no function %r"
            % (module_name, getattr(module, "__file__", "?"), func_name))
        sys.exit(1)
    return fn


def main():
    listener = os.environ.get("FN_LISTENER")
    if not listener:
        log("FN_LISTENER (unix socket path) is not set")
        sys.exit(1)
    code_dir = os.environ.get("FN_CODE_DIR") or "/code"
    spec = os.environ.get("FN_HANDLER") or "handler.handle"
    function_name = os.environ.get("FN_NAME") or ""

    # Import before listening: a function that cannot load must fail to start,
    # not accept calls and fail each of them.
    handler_fn = load_handler(code_dir, spec)

    server = Server(listener, handler_fn, function_name)
    try:
        server.server_bind()
        server.server_activate()
    except OSError as e:
        log("cannot listen on %s: %s" % (listener, e))
        sys.exit(1)

    def on_term(signum, frame):
        if server.draining:
            return
        server.draining = True
        # shutdown() waits for serve_forever() to return, and serve_forever()
        # runs in this very (main) thread, so it must be called from another one.
        threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, on_term)
    signal.signal(signal.SIGINT, on_term)

    server.serve_forever(poll_interval=0.2)
    server.server_close()  # stop accepting: new connections are refused
    if not server.drain(DRAIN_SECONDS):
        log("%d call(s) still running after %.0fs, exiting anyway" % (server.inflight, DRAIN_SECONDS))
        sys.stdout.flush()
        sys.stderr.flush()
        # Normal interpreter shutdown with handler threads still running can
        # hang or crash in their cleanup; leave without it.
        os._exit(0)
    sys.exit(0)


if __name__ == "__main__":
    main()
