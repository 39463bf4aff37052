package dev.skiff.invoker.http;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.skiff.invoker.InvocationRequest;
import dev.skiff.invoker.InvocationResponse;
import dev.skiff.invoker.http.FakeFunctionServer.Received;
import dev.skiff.invoker.http.FakeFunctionServer.Reply;
import dev.skiff.invoker.http.HttpMessage.Header;
import java.io.EOFException;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The invoker's HTTP/1.1 client over a unix socket, against a fake function that answers with canned bytes. */
class UnixHttpConnectionTest {
    private static final Duration LIMIT = Duration.ofSeconds(10);
    private static final String OK_HELLO = "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 5\r\n\r\nhello";

    @TempDir
    Path dir;

    private static InvocationRequest get(String path) {
        return new InvocationRequest("call-1", "GET", path, "", List.of(), new byte[0]);
    }

    private static InvocationResponse exchange(UnixHttpConnection c, InvocationRequest r) throws IOException {
        return assertTimeoutPreemptively(LIMIT, () -> c.exchange(r, List.of()), "the exchange hung");
    }

    private static String text(InvocationResponse r) {
        return new String(r.body(), UTF_8);
    }

    @Test
    void requestLineCarriesMethodPathAndQuery() throws Exception {
        try (var fn = new FakeFunctionServer(dir, Reply.of(OK_HELLO));
                var c = UnixHttpConnection.open(fn.socket)) {
            exchange(c, new InvocationRequest("c", "DELETE", "/items/42", "force=true&x=%20", List.of(), new byte[0]));
            assertEquals("DELETE /items/42?force=true&x=%20 HTTP/1.1", fn.next().requestLine());
        }
    }

    @Test
    void anEmptyPathBecomesSlashAndAnEmptyQueryAddsNoQuestionMark() throws Exception {
        try (var fn = new FakeFunctionServer(dir, Reply.of(OK_HELLO));
                var c = UnixHttpConnection.open(fn.socket)) {
            exchange(c, new InvocationRequest("c", "GET", "", "", List.of(), new byte[0]));
            assertEquals("GET / HTTP/1.1", fn.next().requestLine());
        }
    }

    @Test
    void hopByHopHeadersStayBehindAndEndToEndOnesAreForwarded() throws Exception {
        List<Header> headers = List.of(
                new Header("Connection", "keep-alive, X-Secret"),
                new Header("Transfer-Encoding", "chunked"),
                new Header("Host", "evil.example"),
                new Header("Keep-Alive", "timeout=5"),
                new Header("Upgrade", "websocket"),
                new Header("Content-Length", "999"),
                new Header("Accept", "application/json"),
                new Header("X-Custom", "a"),
                new Header("X-Custom", "b"),
                new Header("Authorization", "Bearer t"));
        try (var fn = new FakeFunctionServer(dir, Reply.of(OK_HELLO));
                var c = UnixHttpConnection.open(fn.socket)) {
            c.exchange(new InvocationRequest("c", "POST", "/", "", headers, "{}".getBytes(UTF_8)),
                    List.of(new Header("X-Call-Id", "call-7")));
            Received r = fn.next();
            assertEquals(List.of("function"), r.values("Host"), "the caller's Host is replaced: " + r.headerLines());
            assertEquals(List.of(), r.values("Connection"));
            assertEquals(List.of(), r.values("Transfer-Encoding"));
            assertEquals(List.of(), r.values("Keep-Alive"));
            assertEquals(List.of(), r.values("Upgrade"));
            assertEquals(List.of("2"), r.values("Content-Length"), "Content-Length comes from the body, not the caller");
            assertEquals(List.of("application/json"), r.values("Accept"));
            assertEquals(List.of("a", "b"), r.values("X-Custom"), "repeats are kept, in order");
            assertEquals(List.of("Bearer t"), r.values("Authorization"));
            assertEquals(List.of("call-7"), r.values("X-Call-Id"), "extra headers are added");
            assertEquals("{}", r.body(UTF_8));
        }
    }

    @Test
    void aHeaderValueWithCrOrLfIsDroppedInsteadOfInjected() throws Exception {
        List<Header> headers = List.of(
                new Header("X-Evil", "a\r\nInjected: yes"),
                new Header("X-Evil-Lf", "a\nInjected2: yes"),
                new Header("X-Evil-Cr", "a\rb"),
                new Header("X-Fine", "ok"));
        try (var fn = new FakeFunctionServer(dir, Reply.of(OK_HELLO));
                var c = UnixHttpConnection.open(fn.socket)) {
            c.exchange(new InvocationRequest("c", "GET", "/", "", headers, new byte[0]),
                    List.of(new Header("X-Extra", "x\r\n\r\nGET /smuggled HTTP/1.1")));
            Received r = fn.next();
            assertEquals(List.of(), r.values("Injected"), r.headerLines().toString());
            assertEquals(List.of(), r.values("Injected2"));
            assertEquals(List.of(), r.values("X-Evil"));
            assertEquals(List.of(), r.values("X-Evil-Cr"));
            assertEquals(List.of(), r.values("X-Extra"));
            assertEquals(List.of("ok"), r.values("X-Fine"));
            assertEquals(List.of("function"), r.values("Host"));
        }
    }

    @Test
    void aHeaderNameWithCrOrLfIsDroppedInsteadOfInjected() throws Exception {
        try (var fn = new FakeFunctionServer(dir, Reply.of(OK_HELLO));
                var c = UnixHttpConnection.open(fn.socket)) {
            c.exchange(new InvocationRequest("c", "GET", "/", "", List.of(new Header("X-A\r\nInjected", "yes")), new byte[0]),
                    List.of());
            Received r = fn.next();
            assertEquals(List.of(), r.values("Injected"), r.headerLines().toString());
        }
    }

    @Test
    void headerNamesAreRfc9110Tokens() {
        for (String ok : List.of("X-Call-Id", "a", "!#$%&'*+-.^_`|~09azAZ")) org.junit.jupiter.api.Assertions.assertTrue(UnixHttpConnection.isToken(ok), ok);
        for (String bad : List.of("", "X Call", "X:Y", "X\r\nY", "Ä", "(x)", "x\"", "a/b", "x@y", "{x}", "\t")) {
            org.junit.jupiter.api.Assertions.assertFalse(UnixHttpConnection.isToken(bad), bad);
        }
    }

    @Test
    void contentLengthOfTheRequestIsTheBodyLength() throws Exception {
        byte[] body = new byte[70_000]; // larger than the client's 16 KiB buffer
        for (int i = 0; i < body.length; i++) body[i] = (byte) i;
        try (var fn = new FakeFunctionServer(dir, Reply.of(OK_HELLO), Reply.of(OK_HELLO));
                var c = UnixHttpConnection.open(fn.socket)) {
            exchange(c, new InvocationRequest("c", "PUT", "/blob", "", List.of(), body));
            Received r = fn.next();
            assertEquals(List.of("70000"), r.values("Content-Length"));
            assertArrayEquals(body, r.body());

            exchange(c, get("/"));
            assertEquals(List.of("0"), fn.next().values("Content-Length"), "a GET says its body is empty");
        }
    }

    @Test
    void aContentLengthResponseIsReadAndHopByHopHeadersAreLeftOut() throws Exception {
        String raw = "HTTP/1.1 201 Created\r\nLocation: /items/1\r\nConnection: keep-alive\r\nX-Multi: 1\r\n"
                + "X-Multi: 2\r\nContent-Length: 11\r\n\r\nhello world";
        try (var fn = new FakeFunctionServer(dir, Reply.of(raw));
                var c = UnixHttpConnection.open(fn.socket)) {
            InvocationResponse r = exchange(c, get("/"));
            assertEquals(201, r.status());
            assertEquals("hello world", text(r));
            assertEquals(List.of(new Header("Location", "/items/1"), new Header("X-Multi", "1"), new Header("X-Multi", "2")),
                    r.headers());
            assertTrue(c.reusable());
        }
    }

    @Test
    void aChunkedResponseWithAnExtensionAndATrailerIsReassembled() throws Exception {
        String chunked = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Type: text/plain\r\n\r\n"
                + "5;name=value\r\nhello\r\n"
                + "6\r\n world\r\n"
                + "A\r\n, 01234567\r\n"
                + "0\r\nX-Checksum: abc\r\n\r\n";
        try (var fn = new FakeFunctionServer(dir, Reply.of(chunked), Reply.of(OK_HELLO));
                var c = UnixHttpConnection.open(fn.socket)) {
            InvocationResponse r = exchange(c, get("/"));
            assertEquals(200, r.status());
            assertEquals("hello world, 01234567", text(r));
            assertEquals(List.of(new Header("Content-Type", "text/plain")), r.headers(), "Transfer-Encoding is not passed on");
            assertTrue(c.reusable());
            // The trailer was consumed: the next exchange on the same connection reads its own response.
            assertEquals("hello", text(exchange(c, get("/again"))));
        }
    }

    @Test
    void aResponseWithoutLengthIsReadToEofAndTheConnectionIsNotReused() throws Exception {
        try (var fn = new FakeFunctionServer(dir, Reply.thenClose("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nuntil the end"));
                var c = UnixHttpConnection.open(fn.socket)) {
            InvocationResponse r = exchange(c, get("/"));
            assertEquals("until the end", text(r));
            assertFalse(c.reusable());
        }
    }

    @Test
    void connectionCloseInTheResponseMakesTheConnectionNotReusable() throws Exception {
        try (var fn = new FakeFunctionServer(dir, Reply.of("HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\nok"));
                var c = UnixHttpConnection.open(fn.socket)) {
            InvocationResponse r = exchange(c, get("/"));
            assertEquals("ok", text(r));
            assertFalse(c.reusable());
        }
    }

    @Test
    void anHttp10ResponseMakesTheConnectionNotReusable() throws Exception {
        try (var fn = new FakeFunctionServer(dir, Reply.of("HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok"));
                var c = UnixHttpConnection.open(fn.socket)) {
            assertEquals("ok", text(exchange(c, get("/"))));
            assertFalse(c.reusable());
        }
    }

    @Test
    void twoExchangesShareOneKeepAliveConnection() throws Exception {
        try (var fn = new FakeFunctionServer(dir,
                Reply.of("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nfirst"),
                Reply.of("HTTP/1.1 404 Not Found\r\nContent-Length: 6\r\n\r\nsecond"));
                var c = UnixHttpConnection.open(fn.socket)) {
            InvocationResponse one = exchange(c, get("/one"));
            assertTrue(c.reusable());
            InvocationResponse two = exchange(c, get("/two"));
            assertEquals(200, one.status());
            assertEquals("first", text(one));
            assertEquals(404, two.status());
            assertEquals("second", text(two));
            assertEquals("GET /one HTTP/1.1", fn.next().requestLine());
            assertEquals("GET /two HTTP/1.1", fn.next().requestLine());
        }
    }

    @Test
    void aHeadResponseWithContentLengthButNoBodyDoesNotHang() throws Exception {
        try (var fn = new FakeFunctionServer(dir,
                Reply.of("HTTP/1.1 200 OK\r\nContent-Length: 1000\r\nContent-Type: text/html\r\n\r\n"),
                Reply.of(OK_HELLO));
                var c = UnixHttpConnection.open(fn.socket)) {
            InvocationResponse head = exchange(c, new InvocationRequest("c", "HEAD", "/", "", List.of(), new byte[0]));
            assertEquals(200, head.status());
            assertEquals(0, head.body().length);
            assertTrue(c.reusable());
            assertEquals("hello", text(exchange(c, get("/"))), "the HEAD left nothing behind on the connection");
        }
    }

    @Test
    void noContentAndNotModifiedHaveNoBody() throws Exception {
        try (var fn = new FakeFunctionServer(dir,
                Reply.of("HTTP/1.1 204 No Content\r\n\r\n"),
                Reply.of("HTTP/1.1 304 Not Modified\r\nETag: \"x\"\r\n\r\n"),
                Reply.of(OK_HELLO));
                var c = UnixHttpConnection.open(fn.socket)) {
            assertEquals(204, exchange(c, get("/")).status());
            assertEquals(304, exchange(c, get("/")).status());
            assertEquals("hello", text(exchange(c, get("/"))));
        }
    }

    @Test
    void aMalformedStatusLineIsAnIOException() throws Exception {
        for (String bad : List.of("SSH-2.0-OpenSSH_9.6\r\n\r\n", "HTTP/1.1 OK\r\n\r\n", "HTTP/1.1\r\n\r\n", "HTTP/2 200\r\n\r\n")) {
            Path sub = dir.resolve("s" + Math.abs(bad.hashCode()));
            java.nio.file.Files.createDirectory(sub);
            try (var fn = new FakeFunctionServer(sub, Reply.of(bad));
                    var c = UnixHttpConnection.open(fn.socket)) {
                IOException e = assertThrows(IOException.class, () -> exchange(c, get("/")), bad);
                assertTrue(e.getMessage().contains("malformed status line"), e.getMessage());
            }
        }
    }

    @Test
    void aMalformedHeaderLineIsAnIOException() throws Exception {
        try (var fn = new FakeFunctionServer(dir, Reply.of("HTTP/1.1 200 OK\r\nno colon here\r\n\r\n"));
                var c = UnixHttpConnection.open(fn.socket)) {
            IOException e = assertThrows(IOException.class, () -> exchange(c, get("/")));
            assertTrue(e.getMessage().contains("malformed header line"), e.getMessage());
        }
    }

    @Test
    void theFunctionClosingMidBodyIsAnEofException() throws Exception {
        try (var fn = new FakeFunctionServer(dir, Reply.thenClose("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc"));
                var c = UnixHttpConnection.open(fn.socket)) {
            EOFException e = assertThrows(EOFException.class, () -> exchange(c, get("/")));
            assertTrue(e.getMessage().contains("3 of 10"), e.getMessage());
        }
    }

    @Test
    void theFunctionClosingMidChunkIsAnEofException() throws Exception {
        try (var fn = new FakeFunctionServer(dir, Reply.thenClose("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n10\r\nabc"));
                var c = UnixHttpConnection.open(fn.socket)) {
            assertThrows(EOFException.class, () -> exchange(c, get("/")));
        }
    }

    @Test
    void theFunctionClosingBeforeAnsweringIsAnEofException() throws Exception {
        try (var fn = new FakeFunctionServer(dir, Reply.thenClose(""));
                var c = UnixHttpConnection.open(fn.socket)) {
            assertThrows(EOFException.class, () -> exchange(c, get("/")));
        }
    }

    @Test
    void closingFromAnotherThreadUnblocksAPendingExchange() throws Exception {
        try (var fn = new FakeFunctionServer(dir, Reply.silence());
                var c = UnixHttpConnection.open(fn.socket)) {
            CompletableFuture<Throwable> outcome = CompletableFuture.supplyAsync(() -> {
                try {
                    c.exchange(get("/slow"), List.of());
                    return null;
                } catch (Throwable t) {
                    return t;
                }
            });
            assertTrue(fn.awaitRequest(), "the request never arrived");
            Thread.sleep(100);
            assertFalse(outcome.isDone(), "the exchange should still be waiting for the silent function");
            c.close();
            Throwable t = outcome.get(5, TimeUnit.SECONDS);
            assertInstanceOf(IOException.class, t, "closing must abort the exchange with an IOException, got " + t);
            assertFalse(c.reusable());
        }
    }

    @Test
    void openingASocketNobodyListensOnFails() {
        assertThrows(IOException.class, () -> UnixHttpConnection.open(dir.resolve("nobody.sock")));
    }

    @Test
    void interimResponsesAreSkipped() throws Exception {
        try (var fn = new FakeFunctionServer(dir,
                Reply.of("HTTP/1.1 103 Early Hints\r\nLink: </style.css>; rel=preload\r\n\r\n" + OK_HELLO),
                Reply.of("HTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\nsecond"));
                var c = UnixHttpConnection.open(fn.socket)) {
            InvocationResponse first = exchange(c, get("/"));
            assertEquals(200, first.status());
            assertEquals("hello", text(first));
            assertEquals("second", text(exchange(c, get("/"))));
        }
    }

    @Test
    void aMalformedBodyLengthIsAnIOException() throws Exception {
        for (String bad : List.of(
                "HTTP/1.1 200 OK\r\nContent-Length: abc\r\n\r\n",
                "HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n",
                "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n")) {
            Path sub = dir.resolve("s" + Math.abs(bad.hashCode()));
            java.nio.file.Files.createDirectory(sub);
            try (var fn = new FakeFunctionServer(sub, Reply.of(bad));
                    var c = UnixHttpConnection.open(fn.socket)) {
                assertThrows(IOException.class, () -> exchange(c, get("/")), bad);
            }
        }
    }

    @Test
    void aPooledConnectionTellsWhetherItsPeerIsStillThere() throws Exception {
        try (java.net.ServerSocket server = new java.net.ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            CompletableFuture<java.net.Socket> accepted = CompletableFuture.supplyAsync(() -> {
                try {
                    java.net.Socket s = server.accept();
                    byte[] buf = new byte[4096];
                    int n = s.getInputStream().read(buf); // the request (small: one read)
                    if (n <= 0) throw new IOException("no request");
                    s.getOutputStream().write(OK_HELLO.getBytes(UTF_8));
                    s.getOutputStream().flush();
                    return s;
                } catch (IOException e) {
                    throw new java.io.UncheckedIOException(e);
                }
            });
            UnixHttpConnection c = UnixHttpConnection.open(new java.net.InetSocketAddress(java.net.InetAddress.getLoopbackAddress(), server.getLocalPort()), 1000);
            assertEquals("hello", text(exchange(c, get("/"))));
            java.net.Socket peer = accepted.get(10, TimeUnit.SECONDS);
            assertTrue(c.reusable() && c.peerStillThere(), "an idle keep-alive connection whose peer is up");
            peer.close(); // the invoker restarted, or died
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
            while (c.peerStillThere() && System.nanoTime() < deadline) Thread.sleep(10);
            assertFalse(c.peerStillThere(), "the peer's close is seen before the connection is used again");
            c.close();
        }
    }
}
