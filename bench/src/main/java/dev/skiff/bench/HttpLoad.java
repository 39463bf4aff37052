package dev.skiff.bench;

import java.io.Closeable;
import java.io.EOFException;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.net.StandardSocketOptions;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;

/**
 * A closed-loop HTTP/1.1 load generator with keep-alive, the same code over a unix socket and
 * over TCP: each client is one platform thread with one blocking {@link SocketChannel}, sends one
 * request, reads the whole response (Content-Length framing), and sends the next at once. The
 * request bytes are prepared once, so the client's own cost per call is a write, a read and a
 * short scan of the response head.
 */
final class HttpLoad {
    private HttpLoad() {}

    /**
     * Ad-hoc load, e.g. while profiling Skiff: {@code HttpLoad http://127.0.0.1:8080/fn/echo 16 20}
     * or {@code HttpLoad unix:/run/skiff/sockets/echo-1234/fn.sock 16 20} (clients, seconds, then
     * optionally the body size, default 64). {@code -H 'Name: value'} before them adds a request
     * header, e.g. {@code -H 'X-Skiff-Version: 1' http://127.0.0.1:8081/internal/fn/echo 16 20}
     * against an invoker.
     */
    public static void main(String[] args) throws Exception {
        List<String> headers = new ArrayList<>();
        while (args.length >= 2 && args[0].equals("-H")) {
            headers.add(args[1]);
            args = Arrays.copyOfRange(args, 2, args.length);
        }
        if (args.length < 3) {
            System.err.println("usage: HttpLoad [-H 'Name: value']... http://HOST:PORT/PATH|unix:SOCKET CLIENTS SECONDS [BODY_BYTES]");
            System.exit(2);
        }
        byte[] body = new byte[args.length > 3 ? Integer.parseInt(args[3]) : 64];
        Arrays.fill(body, (byte) 'x');
        Target t;
        if (args[0].startsWith("unix:")) {
            if (!headers.isEmpty()) throw new IllegalArgumentException("-H is for TCP targets");
            t = Target.unix(args[0], Path.of(args[0].substring(5)), "/", body);
        } else {
            java.net.URI u = java.net.URI.create(args[0]);
            t = Target.tcp(args[0], new InetSocketAddress(u.getHost(), u.getPort()), u.getRawPath(), body, headers.toArray(String[]::new));
        }
        Window w = run(t, Integer.parseInt(args[1]), 1_000_000_000L, (long) (Double.parseDouble(args[2]) * 1e9));
        Series s = new Series(args[0]);
        for (long l : w.latencies()) s.add(l);
        System.out.printf(java.util.Locale.ROOT, "%s: %d calls, %.0f req/s, p50 %.3f ms, p99 %.3f ms, %d errors%s%n", args[0], s.count(),
                s.count() / (w.measuredNanos() / 1e9), s.p(50), s.p(99), w.errors(), w.firstError() == null ? "" : " (" + w.firstError() + ")");
    }

    /** One client's way of making a call: returns the status; the body length is read afterwards. */
    interface Caller extends Closeable {
        int call() throws Exception;

        int bodyLength();

        String bodyText();

        @Override
        void close();
    }

    interface Opener {
        Caller open() throws IOException;
    }

    /** What to call: over HTTP (address and the exact bytes of one request), or anything else through an {@link Opener}. */
    record Target(String name, SocketAddress address, byte[] request, int expectedBodyLength, Opener opener) {
        /** POST {path} with {body}, as the invoker sends it to a replica (Host: function). */
        static Target unix(String name, Path socket, String path, byte[] body) {
            return http(name, UnixDomainSocketAddress.of(socket), post(path, "function", body), body.length);
        }

        /** POST {path} with {body} over TCP; {@code headers} are extra request header lines ("Name: value"). */
        static Target tcp(String name, InetSocketAddress address, String path, byte[] body, String... headers) {
            return http(name, address, post(path, address.getHostString() + ":" + address.getPort(), body, headers), body.length);
        }

        static Target http(String name, SocketAddress address, byte[] request, int expectedBodyLength) {
            return new Target(name, address, request, expectedBodyLength, () -> {
                Connection c = Connection.open(address);
                return new Caller() {
                    @Override public int call() throws IOException { return c.exchange(request); }
                    @Override public int bodyLength() { return c.bodyLength; }
                    @Override public String bodyText() { return c.bodyText(); }
                    @Override public void close() { c.close(); }
                };
            });
        }

        /** Calls that are not HTTP from this process (e.g. straight into an in-process invoker). */
        static Target custom(String name, int expectedBodyLength, Opener opener) {
            return new Target(name, null, null, expectedBodyLength, opener);
        }
    }

    static byte[] post(String path, String host, byte[] body, String... headers) {
        StringBuilder extra = new StringBuilder();
        for (String h : headers) {
            if (h.indexOf(':') <= 0 || h.contains("\r") || h.contains("\n")) throw new IllegalArgumentException("not a header line: " + h);
            extra.append(h.strip()).append("\r\n");
        }
        byte[] head = ("POST " + path + " HTTP/1.1\r\nHost: " + host + "\r\nContent-Type: application/octet-stream\r\n" + extra
                + "Content-Length: " + body.length + "\r\n\r\n").getBytes(StandardCharsets.ISO_8859_1);
        byte[] all = Arrays.copyOf(head, head.length + body.length);
        System.arraycopy(body, 0, all, head.length, body.length);
        return all;
    }

    /**
     * One measured window: the latencies of calls started and finished inside it; allCalls counts
     * every successful call, the warm-up's included (for CPU time per call).
     */
    record Window(long[] latencies, long measuredNanos, long allCalls, long errors, String firstError) {}

    /**
     * {@code clients} connections, each calling back to back: {@code warmupNanos} unrecorded,
     * then {@code measureNanos} recorded. Connections are opened before the warm-up starts.
     */
    static Window run(Target t, int clients, long warmupNanos, long measureNanos) throws InterruptedException {
        List<Caller> conns = new ArrayList<>();
        try {
            for (int i = 0; i < clients; i++) conns.add(t.opener().open());
        } catch (IOException e) {
            conns.forEach(Caller::close);
            return new Window(new long[0], measureNanos, 0, clients, "connect to " + t.name() + ": " + e.getMessage());
        }
        long[][] perClient = new long[clients][];
        AtomicLong errors = new AtomicLong();
        AtomicLong allCalls = new AtomicLong();
        AtomicReference<String> firstError = new AtomicReference<>();
        CountDownLatch go = new CountDownLatch(1);
        long[] window = new long[2];
        List<Thread> threads = new ArrayList<>();
        for (int i = 0; i < clients; i++) {
            int me = i;
            Caller c = conns.get(i);
            threads.add(Thread.ofPlatform().name("load-" + i).start(() -> {
                long[] lat = new long[4096];
                int n = 0;
                long calls = 0;
                try {
                    go.await();
                    long from = window[0], to = window[1];
                    while (true) {
                        long t0 = System.nanoTime();
                        if (t0 >= to) break;
                        int status = c.call();
                        long t1 = System.nanoTime();
                        if (status != 200 || c.bodyLength() != t.expectedBodyLength()) {
                            errors.incrementAndGet();
                            firstError.compareAndSet(null, "status " + status + ", body " + c.bodyLength() + " bytes: " + c.bodyText());
                            continue;
                        }
                        calls++;
                        if (t0 >= from && t1 <= to) {
                            if (n == lat.length) lat = Arrays.copyOf(lat, n * 2);
                            lat[n++] = t1 - t0;
                        }
                    }
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                } catch (Exception e) {
                    errors.incrementAndGet();
                    firstError.compareAndSet(null, e.toString());
                } finally {
                    allCalls.addAndGet(calls);
                    perClient[me] = Arrays.copyOf(lat, n);
                }
            }));
        }
        long start = System.nanoTime();
        window[0] = start + warmupNanos;
        window[1] = start + warmupNanos + measureNanos;
        go.countDown(); // publishes window[] to the clients
        for (Thread th : threads) th.join();
        conns.forEach(Caller::close);
        int total = 0;
        for (long[] l : perClient) total += l.length;
        long[] all = new long[total];
        int at = 0;
        for (long[] l : perClient) {
            System.arraycopy(l, 0, all, at, l.length);
            at += l.length;
        }
        return new Window(all, measureNanos, allCalls.get(), errors.get(), firstError.get());
    }

    /** One blocking HTTP/1.1 keep-alive connection that reads a whole response per exchange. */
    static final class Connection implements Closeable {
        final SocketChannel channel;
        private final ByteBuffer in = ByteBuffer.allocate(64 * 1024);
        int bodyLength;
        private int bodyStart;

        private Connection(SocketChannel channel) {
            this.channel = channel;
        }

        static Connection open(SocketAddress address) throws IOException {
            SocketChannel ch = SocketChannel.open(address);
            if (address instanceof InetSocketAddress) ch.setOption(StandardSocketOptions.TCP_NODELAY, true);
            return new Connection(ch);
        }

        /** Sends the request, reads the response; returns its status. */
        int exchange(byte[] request) throws IOException {
            ByteBuffer out = ByteBuffer.wrap(request);
            while (out.hasRemaining()) channel.write(out);
            in.clear();
            int headEnd = -1;
            while (headEnd < 0) {
                if (channel.read(in) < 0) throw new EOFException("connection closed before the response head");
                headEnd = find(in.array(), in.position());
                if (headEnd < 0 && !in.hasRemaining()) throw new IOException("response head over 64 KiB");
            }
            byte[] b = in.array();
            int status = (b[9] - '0') * 100 + (b[10] - '0') * 10 + (b[11] - '0');
            int length = contentLength(b, headEnd);
            if (length < 0) throw new IOException("response without Content-Length: " + new String(b, 0, headEnd, StandardCharsets.ISO_8859_1));
            if (headEnd + length > in.capacity()) throw new IOException("response body too large for this client: " + length);
            while (in.position() < headEnd + length) {
                if (channel.read(in) < 0) throw new EOFException("connection closed inside the response body");
            }
            if (in.position() != headEnd + length) throw new IOException("bytes after the response (pipelining is not used)");
            bodyStart = headEnd;
            bodyLength = length;
            return status;
        }

        String bodyText() {
            return new String(in.array(), bodyStart, Math.min(bodyLength, 300), StandardCharsets.UTF_8);
        }

        /** Index just after CRLF CRLF in b[0..limit), or -1. */
        static int find(byte[] b, int limit) {
            for (int i = 3; i < limit; i++) {
                if (b[i] == '\n' && b[i - 1] == '\r' && b[i - 2] == '\n' && b[i - 3] == '\r') return i + 1;
            }
            return -1;
        }

        private static final byte[] CL = "content-length:".getBytes(StandardCharsets.ISO_8859_1);

        static int contentLength(byte[] b, int headEnd) {
            for (int i = 0; i < headEnd - CL.length; i++) {
                if (b[i] != '\n') continue;
                int j = 0;
                while (j < CL.length && Character.toLowerCase((char) b[i + 1 + j]) == CL[j]) j++;
                if (j < CL.length) continue;
                int k = i + 1 + j, v = 0;
                while (b[k] == ' ') k++;
                while (b[k] >= '0' && b[k] <= '9') v = v * 10 + (b[k++] - '0');
                return v;
            }
            return -1;
        }

        @Override
        public void close() {
            try {
                channel.close();
            } catch (IOException ignored) {
                // closing anyway
            }
        }
    }
}
