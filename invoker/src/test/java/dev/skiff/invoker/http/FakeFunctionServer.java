package dev.skiff.invoker.http;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.Channels;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

/**
 * A stand-in for a function's FDK: an HTTP/1.1 server on a unix socket that serves one
 * connection, answering each request it reads with the next canned reply, byte for byte.
 */
final class FakeFunctionServer implements AutoCloseable {
    /** Raw bytes to send after reading one request; {@code close} hangs up right after them. */
    record Reply(String raw, boolean close) {
        static Reply of(String raw) {
            return new Reply(raw, false);
        }

        static Reply thenClose(String raw) {
            return new Reply(raw, true);
        }

        /** Reads the request and never answers (until the client goes away). */
        static Reply silence() {
            return new Reply(null, false);
        }
    }

    /** One request as received: the head lines and the body. */
    record Received(String requestLine, List<String> headerLines, byte[] body) {
        String body(java.nio.charset.Charset cs) {
            return new String(body, cs);
        }

        List<String> values(String name) {
            List<String> out = new ArrayList<>();
            for (String line : headerLines) {
                int colon = line.indexOf(':');
                if (colon > 0 && line.substring(0, colon).equalsIgnoreCase(name)) out.add(line.substring(colon + 1).trim());
            }
            return out;
        }
    }

    final Path socket;
    private final ServerSocketChannel server;
    private final Thread thread;
    private final BlockingQueue<Received> received = new LinkedBlockingQueue<>();
    private final CountDownLatch requestSeen = new CountDownLatch(1);
    private volatile Throwable failure;

    FakeFunctionServer(Path dir, Reply... replies) throws IOException {
        socket = dir.resolve("fn.sock");
        server = ServerSocketChannel.open(StandardProtocolFamily.UNIX);
        server.bind(UnixDomainSocketAddress.of(socket));
        thread = Thread.ofPlatform().daemon().name("fake-fdk").start(() -> serve(List.of(replies)));
    }

    private void serve(List<Reply> replies) {
        try (SocketChannel ch = server.accept()) {
            InputStream in = Channels.newInputStream(ch);
            OutputStream out = Channels.newOutputStream(ch);
            for (Reply reply : replies) {
                Received r = readRequest(in);
                if (r == null) return;
                received.add(r);
                requestSeen.countDown();
                if (reply.raw() == null) {
                    in.transferTo(OutputStream.nullOutputStream()); // until the client hangs up
                    return;
                }
                out.write(reply.raw().getBytes(StandardCharsets.ISO_8859_1));
                out.flush();
                if (reply.close()) return;
            }
            in.transferTo(OutputStream.nullOutputStream());
        } catch (IOException e) {
            // the client went away
        } catch (Throwable t) {
            failure = t;
        }
    }

    private static Received readRequest(InputStream in) throws IOException {
        ByteArrayOutputStream head = new ByteArrayOutputStream();
        int matched = 0;
        while (matched < 4) {
            int c = in.read();
            if (c < 0) return null;
            head.write(c);
            matched = (c == (matched % 2 == 0 ? '\r' : '\n')) ? matched + 1 : (c == '\r' ? 1 : 0);
        }
        String[] lines = head.toString(StandardCharsets.ISO_8859_1).split("\r\n");
        List<String> headers = new ArrayList<>(List.of(lines).subList(1, lines.length));
        int length = 0;
        for (String h : headers) {
            if (h.toLowerCase(Locale.ROOT).startsWith("content-length:")) length = Integer.parseInt(h.substring(15).trim());
        }
        byte[] body = in.readNBytes(length);
        return new Received(lines[0], headers, body);
    }

    /** The next request the server read, waiting a little for it. */
    Received next() throws InterruptedException {
        Received r = received.poll(5, TimeUnit.SECONDS);
        if (r == null) throw new AssertionError("the fake function received no request");
        return r;
    }

    boolean awaitRequest() throws InterruptedException {
        return requestSeen.await(5, TimeUnit.SECONDS);
    }

    @Override
    public void close() throws Exception {
        server.close();
        thread.join(5000);
        if (failure != null) throw new AssertionError("fake function failed", failure);
    }
}
