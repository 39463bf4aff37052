"""Tests of the Python FDK (fdk.py), run as a real subprocess on a unix socket.

Run: python3 -m unittest discover -s function-templates/src/test/python -v
(PythonFdkTest.java runs exactly this as part of the Maven build.)
"""

import http.client
import json
import os
import shutil
import signal
import socket
import stat
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
import unittest
from pathlib import Path

SRC = Path(__file__).resolve().parents[2]  # <module>/src
FDK = SRC / "main" / "resources" / "skiff" / "runtimes" / "python" / "fdk.py"
TEMPLATE = SRC / "main" / "resources" / "skiff" / "templates" / "python"

START_TIMEOUT = 10.0

# One handler module exercising every return shape; the path picks the case.
TEST_HANDLER = '''
import threading
import time

def handle(event, context):
    p = event.path
    if p == "/str":
        return "h\\u00e9llo"
    if p == "/bytes":
        return b"\\x00\\x01\\xff"
    if p == "/none":
        return None
    if p == "/full":
        return {"statusCode": 201, "headers": {"X-Custom": "yes", "Content-Type": "text/csv"},
                "body": "a,b"}
    if p == "/json-body":
        return {"statusCode": 202, "body": {"ok": True, "n": [1, 2]}}
    if p == "/no-content":
        return {"statusCode": 204}
    if p == "/plain-dict":
        return {"a": 1, "b": "two"}
    if p == "/list":
        return [1, "two", None]
    if p == "/raise":
        raise ValueError("boom: bad input")
    if p == "/bad-return":
        return 42
    if p == "/thread":
        return str(threading.get_ident())
    if p == "/slow":
        time.sleep(float(event.query.get("s", "1")))
        return "slept"
    if p == "/print":
        print("user log line from handler")
        return "printed"
    return {
        "method": event.method,
        "path": event.path,
        "query": event.query,
        "query_list": event.query_list,
        "body_hex": event.body.hex(),
        "body_type": type(event.body).__name__,
        "x_test_lower": event.headers.get("x-test"),
        "x_test_upper": event.headers.get("X-TEST"),
        "x_test_in": "X-Test" in event.headers and "x-test" in event.headers,
        "header_types_ok": all(isinstance(k, str) and isinstance(v, str)
                               for k, v in event.headers.items()),
        "call_id": context.call_id,
        "function_name": context.function_name,
        "hostname": context.hostname,
    }
'''


class UnixHTTPConnection(http.client.HTTPConnection):
    """http.client over a unix socket: only connect() differs."""

    def __init__(self, path, timeout=10.0):
        super().__init__("localhost", timeout=timeout)
        self.unix_path = path

    def connect(self):
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(self.timeout)
        sock.connect(self.unix_path)
        self.sock = sock


class Fdk:
    """One fdk.py subprocess with its own code dir and socket in a temp dir."""

    def __init__(self, files=None, code_dir=None, handler=None, name="test-fn", stale_socket=False):
        self.tmp = tempfile.mkdtemp(prefix="fdk-test-")
        self.socket_path = os.path.join(self.tmp, "fn.sock")
        if code_dir is None:
            code_dir = os.path.join(self.tmp, "code")
            os.mkdir(code_dir)
            for rel, text in (files or {}).items():
                target = Path(code_dir, rel)
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_text(textwrap.dedent(text))
        if stale_socket:
            Path(self.socket_path).write_text("left over by a previous run")
        env = {k: v for k, v in os.environ.items() if not k.startswith(("FN_", "PYTHON"))}
        env.update(FN_LISTENER=self.socket_path, FN_CODE_DIR=str(code_dir), FN_NAME=name)
        if handler:
            env["FN_HANDLER"] = handler
        self.out_path = os.path.join(self.tmp, "stdout")
        self.err_path = os.path.join(self.tmp, "stderr")
        # Files, not pipes: a full pipe would block the FDK mid-test.
        with open(self.out_path, "wb") as out, open(self.err_path, "wb") as err:
            self.proc = subprocess.Popen([sys.executable, "-u", "-B", str(FDK)],
                                         env=env, stdin=subprocess.DEVNULL, stdout=out, stderr=err)

    def stdout(self):
        return Path(self.out_path).read_text(errors="replace")

    def stderr(self):
        return Path(self.err_path).read_text(errors="replace")

    def wait_ready(self):
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError("fdk exited with %s before listening; stderr:\n%s"
                                     % (self.proc.returncode, self.stderr()))
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            try:
                s.connect(self.socket_path)
                return self
            except (FileNotFoundError, ConnectionRefusedError):
                time.sleep(0.05)
            finally:
                s.close()
        raise AssertionError("fdk did not listen within %ss; stderr:\n%s" % (START_TIMEOUT, self.stderr()))

    def conn(self, timeout=10.0):
        return UnixHTTPConnection(self.socket_path, timeout)

    def request(self, method, path, body=None, headers=None):
        """One request on a fresh connection -> (response, body bytes)."""
        c = self.conn()
        try:
            c.request(method, path, body=body, headers=headers or {})
            r = c.getresponse()
            return r, r.read()
        finally:
            c.close()

    def raw(self, data):
        """Send raw bytes, return everything the server answers until it closes."""
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(10)
        s.connect(self.socket_path)
        try:
            s.sendall(data)
            chunks = []
            while True:
                b = s.recv(65536)
                if not b:
                    return b"".join(chunks)
                chunks.append(b)
        finally:
            s.close()

    def wait_exit(self, timeout=15):
        return self.proc.wait(timeout)

    def close(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)
        shutil.rmtree(self.tmp, ignore_errors=True)


class ServingTest(unittest.TestCase):
    """Calls against one long-running FDK serving TEST_HANDLER."""

    @classmethod
    def setUpClass(cls):
        cls.fdk = Fdk({"handler.py": TEST_HANDLER}).wait_ready()

    @classmethod
    def tearDownClass(cls):
        cls.fdk.close()

    def test_socket_is_world_writable(self):
        mode = os.stat(self.fdk.socket_path).st_mode
        self.assertTrue(stat.S_ISSOCK(mode))
        self.assertEqual(0o666, stat.S_IMODE(mode))

    def test_str_return(self):
        r, body = self.fdk.request("GET", "/str")
        self.assertEqual(200, r.status)
        self.assertEqual("text/plain; charset=utf-8", r.getheader("Content-Type"))
        self.assertEqual("h\u00e9llo".encode("utf-8"), body)
        self.assertEqual(str(len(body)), r.getheader("Content-Length"))
        self.assertIsNone(r.getheader("Transfer-Encoding"))

    def test_bytes_return(self):
        r, body = self.fdk.request("GET", "/bytes")
        self.assertEqual(200, r.status)
        self.assertEqual("application/octet-stream", r.getheader("Content-Type"))
        self.assertEqual(b"\x00\x01\xff", body)
        self.assertEqual("3", r.getheader("Content-Length"))

    def test_none_return(self):
        r, body = self.fdk.request("GET", "/none")
        self.assertEqual(200, r.status)
        self.assertEqual(b"", body)
        self.assertEqual("0", r.getheader("Content-Length"))

    def test_dict_with_status_headers_body(self):
        r, body = self.fdk.request("GET", "/full")
        self.assertEqual(201, r.status)
        self.assertEqual("yes", r.getheader("X-Custom"))
        self.assertEqual("text/csv", r.getheader("Content-Type"))  # overrides the str default
        self.assertEqual(b"a,b", body)

    def test_dict_with_json_body(self):
        r, body = self.fdk.request("GET", "/json-body")
        self.assertEqual(202, r.status)
        self.assertEqual("application/json", r.getheader("Content-Type"))
        self.assertEqual({"ok": True, "n": [1, 2]}, json.loads(body))

    def test_status_only_dict(self):
        r, body = self.fdk.request("GET", "/no-content")
        self.assertEqual(204, r.status)
        self.assertEqual(b"", body)

    def test_plain_dict_and_list_are_json(self):
        r, body = self.fdk.request("GET", "/plain-dict")
        self.assertEqual(200, r.status)
        self.assertEqual("application/json", r.getheader("Content-Type"))
        self.assertEqual({"a": 1, "b": "two"}, json.loads(body))
        r, body = self.fdk.request("GET", "/list")
        self.assertEqual(200, r.status)
        self.assertEqual([1, "two", None], json.loads(body))

    def test_event_fields(self):
        r, body = self.fdk.request(
            "POST", "/echo/a%20b?x=1&x=2&y=&z=%C3%A9",
            body=b"\x00raw\xffbytes",
            headers={"X-Test": "v1", "X-Call-Id": "call-123", "Content-Type": "application/x-thing"})
        self.assertEqual(200, r.status)
        e = json.loads(body)
        self.assertEqual("POST", e["method"])
        self.assertEqual("/echo/a b", e["path"])
        self.assertEqual({"x": "1", "y": "", "z": "\u00e9"}, e["query"])
        self.assertEqual({"x": ["1", "2"], "y": [""], "z": ["\u00e9"]}, e["query_list"])
        self.assertEqual(b"\x00raw\xffbytes".hex(), e["body_hex"])
        self.assertEqual("bytes", e["body_type"])
        self.assertEqual("v1", e["x_test_lower"])
        self.assertEqual("v1", e["x_test_upper"])
        self.assertTrue(e["x_test_in"])
        self.assertTrue(e["header_types_ok"])
        self.assertEqual("call-123", e["call_id"])
        self.assertEqual("test-fn", e["function_name"])
        self.assertEqual(socket.gethostname(), e["hostname"])

    def test_event_defaults(self):
        r, body = self.fdk.request("GET", "/echo")
        e = json.loads(body)
        self.assertEqual({}, e["query"])
        self.assertEqual("", e["body_hex"])
        self.assertIsNone(e["call_id"])

    def test_any_method(self):
        for method in ("GET", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "PURGE"):
            with self.subTest(method=method):
                r, body = self.fdk.request(method, "/echo", body=b"x" if method != "GET" else None)
                self.assertEqual(200, r.status)
                self.assertEqual(method, json.loads(body)["method"])

    def test_head_has_length_but_no_body(self):
        c = self.fdk.conn()
        try:
            c.request("HEAD", "/str")
            r = c.getresponse()
            self.assertEqual(b"", r.read())
            self.assertEqual(200, r.status)
            self.assertEqual(str(len("h\u00e9llo".encode())), r.getheader("Content-Length"))
            # The connection is still in sync: no stray body bytes were sent.
            c.request("GET", "/str")
            self.assertEqual("h\u00e9llo".encode(), c.getresponse().read())
        finally:
            c.close()

    def test_chunked_request_body(self):
        c = self.fdk.conn()
        try:
            # An iterable body without Content-Length makes http.client send it chunked.
            c.request("POST", "/echo", body=iter([b"hello ", b"chunked ", b"world"]), encode_chunked=True)
            r = c.getresponse()
            self.assertEqual(200, r.status)
            self.assertEqual(b"hello chunked world".hex(), json.loads(r.read())["body_hex"])
        finally:
            c.close()

    def test_chunked_with_extensions_and_trailers(self):
        answer = self.fdk.raw(
            b"POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
            b"3;ext=1\r\nabc\r\nA\r\n0123456789\r\n0\r\nX-Trailer: t\r\n\r\n")
        head, _, body = answer.partition(b"\r\n\r\n")
        self.assertTrue(head.startswith(b"HTTP/1.1 200"), answer)
        self.assertEqual(b"abc0123456789".hex(), json.loads(body)["body_hex"])

    def test_keep_alive(self):
        c = self.fdk.conn()
        try:
            c.request("GET", "/thread")
            r1 = c.getresponse()
            t1 = r1.read()
            sock1 = c.sock
            self.assertIsNotNone(sock1, "server closed the connection after the first response")
            c.request("POST", "/thread", body=b"second")
            t2 = c.getresponse().read()
            self.assertIs(sock1, c.sock, "http.client had to reconnect")
            # One thread per connection: both calls ran on the same one.
            self.assertEqual(t1, t2)
        finally:
            c.close()

    def test_handler_raises(self):
        c = self.fdk.conn()
        try:
            c.request("GET", "/raise", headers={"X-Call-Id": "boom-call"})
            r = c.getresponse()
            self.assertEqual(500, r.status)
            self.assertEqual("handler-raised", r.getheader("X-Fn-Error"))
            self.assertEqual(b"ValueError: boom: bad input", r.read())
            # Same connection, next call is fine.
            c.request("GET", "/str")
            r = c.getresponse()
            self.assertEqual(200, r.status)
            self.assertEqual("h\u00e9llo".encode(), r.read())
        finally:
            c.close()
        err = self.fdk.stderr()
        self.assertIn("boom-call", err)
        self.assertIn("[fdk] Traceback (most recent call last):", err)
        self.assertIn("[fdk] ValueError: boom: bad input", err)

    def test_unsupported_return_type_is_a_handler_error(self):
        r, body = self.fdk.request("GET", "/bad-return")
        self.assertEqual(500, r.status)
        self.assertEqual("handler-raised", r.getheader("X-Fn-Error"))
        self.assertTrue(body.startswith(b"TypeError: "), body)

    def test_malformed_requests_get_400(self):
        for raw in (b"NOT A REQUEST LINE AT ALL\r\n\r\n",
                    b"POST /echo HTTP/1.1\r\nContent-Length: abc\r\n\r\n",
                    b"POST /echo HTTP/1.1\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello!",
                    b"POST /echo HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nabc\r\n0\r\n\r\n",
                    b"POST /echo HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n"):
            with self.subTest(raw=raw):
                answer = self.fdk.raw(raw)
                self.assertTrue(answer.startswith(b"HTTP/1.") and b" 400 " in answer.split(b"\r\n")[0],
                                answer)
        # and the server still serves
        r, _ = self.fdk.request("GET", "/str")
        self.assertEqual(200, r.status)

    def test_no_access_log(self):
        self.fdk.request("GET", "/str")
        self.assertNotIn("GET /str", self.fdk.stderr() + self.fdk.stdout())

    def test_print_goes_to_stdout(self):
        r, body = self.fdk.request("GET", "/print")
        self.assertEqual(b"printed", body)
        deadline = time.monotonic() + 5
        while "user log line from handler" not in self.fdk.stdout() and time.monotonic() < deadline:
            time.sleep(0.05)
        self.assertIn("user log line from handler\n", self.fdk.stdout())

    def test_concurrent_calls(self):
        # Thread per connection: two 0.5 s calls overlap instead of queueing.
        results = []

        def call():
            results.append(self.fdk.request("GET", "/slow?s=0.5")[1])

        started = time.monotonic()
        threads = [threading.Thread(target=call) for _ in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(10)
        self.assertEqual([b"slept", b"slept"], results)
        self.assertLess(time.monotonic() - started, 0.95)


class StartupTest(unittest.TestCase):

    def start(self, **kw):
        fdk = Fdk(**kw)
        self.addCleanup(fdk.close)
        return fdk

    def assert_fails_to_start(self, fdk, *messages):
        self.assertEqual(1, fdk.wait_exit(), fdk.stderr())
        err = fdk.stderr()
        for m in messages:
            self.assertIn(m, err)
        self.assertFalse(os.path.exists(fdk.socket_path), "listened although the handler is broken")

    def test_import_error_exits_1(self):
        fdk = self.start(files={"handler.py": "import no_such_module_xyz\n"})
        self.assert_fails_to_start(fdk, "cannot import handler module 'handler'",
                                   "ModuleNotFoundError", "no_such_module_xyz", "Traceback")

    def test_syntax_error_exits_1(self):
        fdk = self.start(files={"handler.py": "def handle(event, context)\n    return 1\n"})
        self.assert_fails_to_start(fdk, "cannot import handler module 'handler'", "SyntaxError")

    def test_missing_module_exits_1(self):
        fdk = self.start(files={})
        self.assert_fails_to_start(fdk, "cannot import handler module 'handler'",
                                   "No module named 'handler'")

    def test_missing_function_exits_1(self):
        fdk = self.start(files={"handler.py": "def other(event, context):\n    return 1\n"})
        self.assert_fails_to_start(fdk, "has no function 'handle'")

    def test_custom_handler_spec_in_package(self):
        fdk = self.start(files={"pkg/__init__.py": "",
                                "pkg/funcs.py": "def run(event, context):\n    return 'from pkg'\n"},
                         handler="pkg.funcs.run").wait_ready()
        r, body = fdk.request("GET", "/")
        self.assertEqual(b"from pkg", body)

    def test_stale_socket_file_is_replaced(self):
        fdk = self.start(files={"handler.py": "def handle(e, c):\n    return 'ok'\n"},
                         stale_socket=True).wait_ready()
        self.assertEqual(b"ok", fdk.request("GET", "/")[1])


class ShutdownTest(unittest.TestCase):

    def start(self):
        fdk = Fdk({"handler.py": TEST_HANDLER})
        self.addCleanup(fdk.close)
        return fdk.wait_ready()

    def test_sigterm_exits_0(self):
        fdk = self.start()
        # An idle keep-alive connection must not hold the process up.
        c = fdk.conn()
        self.addCleanup(c.close)
        c.request("GET", "/str")
        c.getresponse().read()
        fdk.proc.send_signal(signal.SIGTERM)
        self.assertEqual(0, fdk.wait_exit(5), fdk.stderr())

    def test_sigterm_lets_inflight_call_finish(self):
        fdk = self.start()
        result = {}

        def call():
            r, body = fdk.request("GET", "/slow?s=1")
            result.update(status=r.status, body=body, connection=r.getheader("Connection"))

        t = threading.Thread(target=call)
        t.start()
        time.sleep(0.4)  # the call is now sleeping in the handler
        fdk.proc.send_signal(signal.SIGTERM)
        # New connections are refused soon after SIGTERM.
        deadline = time.monotonic() + 3
        refused = False
        while time.monotonic() < deadline and not refused:
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            try:
                s.connect(fdk.socket_path)
                time.sleep(0.05)
            except OSError:
                refused = True
            finally:
                s.close()
        self.assertTrue(refused, "still accepting connections after SIGTERM")
        t.join(10)
        self.assertEqual({"status": 200, "body": b"slept", "connection": "close"}, result)
        self.assertEqual(0, fdk.wait_exit(10), fdk.stderr())


class TemplateTest(unittest.TestCase):
    """The `python` template that `fn init --runtime python` copies."""

    @classmethod
    def setUpClass(cls):
        cls.fdk = Fdk(code_dir=TEMPLATE).wait_ready()

    @classmethod
    def tearDownClass(cls):
        cls.fdk.close()

    def test_hello_world(self):
        r, body = self.fdk.request("GET", "/")
        self.assertEqual(200, r.status)
        self.assertEqual(b"Hello, world", body)

    def test_hello_name(self):
        r, body = self.fdk.request("POST", "/", body=b"Ana")
        self.assertEqual(200, r.status)
        self.assertEqual(b"Hello, Ana", body)

    def test_template_list_names_existing_files(self):
        names = [line.strip() for line in (TEMPLATE / "template.list").read_text().splitlines() if line.strip()]
        self.assertEqual(["func.yaml", "handler.py"], names)
        for name in names:
            self.assertTrue((TEMPLATE / name).is_file(), name)

    def test_func_yaml_defaults(self):
        text = (TEMPLATE / "func.yaml").read_text()
        self.assertIn("\nname: __NAME__\n", text)
        self.assertIn("\nruntime: python\n", text)
        self.assertIn("\nhandler: handler.handle\n", text)


if __name__ == "__main__":
    unittest.main()
