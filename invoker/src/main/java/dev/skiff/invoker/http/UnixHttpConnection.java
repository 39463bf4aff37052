package dev.skiff.invoker.http;

import dev.skiff.invoker.InvocationRequest;
import dev.skiff.invoker.InvocationResponse;
import dev.skiff.invoker.StreamedResponse;
import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.Closeable;
import java.io.EOFException;
import java.io.FilterInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.Channels;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * One HTTP/1.1 keep-alive connection to a function's FDK over its unix socket. Blocking, one
 * exchange at a time; callers run it on virtual threads. Closing it from another thread aborts
 * a blocked exchange (that is how timeouts are enforced).
 */
public final class UnixHttpConnection implements Closeable {
    private static final int MAX_HEAD_BYTES = 64 * 1024;

    private final SocketChannel channel;
    private final InputStream in;
    private final OutputStream out;
    private boolean reusable = true;

    private UnixHttpConnection(SocketChannel channel) {
        this.channel = channel;
        this.in = new BufferedInputStream(Channels.newInputStream(channel), 16 * 1024);
        this.out = new BufferedOutputStream(Channels.newOutputStream(channel), 16 * 1024);
    }

    public static UnixHttpConnection open(Path socket) throws IOException {
        SocketChannel ch = SocketChannel.open(StandardProtocolFamily.UNIX);
        try {
            ch.connect(UnixDomainSocketAddress.of(socket));
        } catch (IOException e) {
            ch.close();
            throw e;
        }
        return new UnixHttpConnection(ch);
    }

    /**
     * The same lean HTTP/1.1 client over TCP: a gateway calling an invoker in another process
     * (the JDK's HttpClient cost the gateway ~1 ms of CPU per call in its hand-offs).
     */
    public static UnixHttpConnection open(java.net.InetSocketAddress address, int connectTimeoutMillis) throws IOException {
        SocketChannel ch = SocketChannel.open();
        try {
            ch.socket().connect(address, connectTimeoutMillis);
            ch.setOption(java.net.StandardSocketOptions.TCP_NODELAY, true);
        } catch (IOException e) {
            ch.close();
            throw e;
        }
        return new UnixHttpConnection(ch);
    }

    /**
     * Whether the other end is still there, checked without blocking: a pooled connection whose
     * peer closed it (it restarted, or died) reads end-of-stream here, so the caller opens a new
     * one instead of sending a call down a dead connection (where a POST could not be repeated,
     * as nobody can tell whether it arrived). Only for an idle connection: no read may be running.
     */
    public boolean peerStillThere() {
        try {
            channel.configureBlocking(false);
            int n;
            try {
                n = channel.read(java.nio.ByteBuffer.allocate(1));
            } finally {
                channel.configureBlocking(true);
            }
            return n == 0; // -1: closed by the peer; > 0: bytes nobody asked for, the exchange is out of step
        } catch (IOException e) {
            return false;
        }
    }

    /** True when the last exchange left the connection usable for another one. */
    public boolean reusable() {
        return reusable && channel.isOpen();
    }

    /** Sends the request and reads the whole response into memory. */
    public InvocationResponse exchange(InvocationRequest request, List<HttpMessage.Header> extraHeaders) throws IOException {
        StreamedResponse r = exchangeStreaming(request, extraHeaders);
        try (InputStream body = r.body()) {
            return new InvocationResponse(r.status(), r.headers(), body.readAllBytes());
        }
    }

    /**
     * Sends the request (streaming its body if it has a stream) and returns once the response
     * head is read; the body is read from the returned stream. The connection may be used again
     * only after that stream reached its end.
     */
    public StreamedResponse exchangeStreaming(InvocationRequest request, List<HttpMessage.Header> extraHeaders) throws IOException {
        writeRequest(request, extraHeaders);
        return readResponse(request.method().equals("HEAD"));
    }

    private void writeRequest(InvocationRequest r, List<HttpMessage.Header> extra) throws IOException {
        StringBuilder head = new StringBuilder(256);
        head.append(r.method()).append(' ').append(r.path().isEmpty() ? "/" : r.path());
        if (r.query() != null && !r.query().isEmpty()) head.append('?').append(r.query());
        head.append(" HTTP/1.1\r\nHost: function\r\n");
        for (HttpMessage.Header h : r.headers()) {
            if (HttpMessage.isHopByHop(h.name())) continue;
            appendHeader(head, h);
        }
        for (HttpMessage.Header h : extra) appendHeader(head, h);
        if (r.bodyStream() == null) {
            head.append("Content-Length: ").append(r.body().length).append("\r\n\r\n");
            out.write(head.toString().getBytes(StandardCharsets.ISO_8859_1));
            out.write(r.body());
        } else if (r.bodyLength() >= 0) {
            head.append("Content-Length: ").append(r.bodyLength()).append("\r\n\r\n");
            out.write(head.toString().getBytes(StandardCharsets.ISO_8859_1));
            long copied = copyBody(r.bodyStream(), false);
            if (copied != r.bodyLength()) throw new dev.skiff.invoker.RequestBodyException(400,
                    "the request body ended after " + copied + " of " + r.bodyLength() + " bytes");
        } else {
            head.append("Transfer-Encoding: chunked\r\n\r\n");
            out.write(head.toString().getBytes(StandardCharsets.ISO_8859_1));
            copyBody(r.bodyStream(), true);
            out.write("0\r\n\r\n".getBytes(StandardCharsets.ISO_8859_1));
        }
        out.flush();
    }

    /** Copies the caller's body to the function, as chunks when its length is unknown. */
    private long copyBody(InputStream body, boolean chunked) throws IOException {
        byte[] buf = new byte[64 * 1024];
        long total = 0;
        while (true) {
            int n;
            try {
                n = body.read(buf);
            } catch (dev.skiff.invoker.RequestBodyException e) {
                throw e;
            } catch (IOException e) {
                throw new dev.skiff.invoker.RequestBodyException(400, "the request body broke off: " + e.getMessage());
            }
            if (n < 0) return total;
            if (n == 0) continue;
            if (chunked) out.write((Integer.toHexString(n) + "\r\n").getBytes(StandardCharsets.ISO_8859_1));
            out.write(buf, 0, n);
            if (chunked) out.write(CRLF);
            total += n;
        }
    }

    private static final byte[] CRLF = {'\r', '\n'};

    private static void appendHeader(StringBuilder head, HttpMessage.Header h) {
        // Refuse header injection: a name must be an RFC 9110 token, and a CR or LF in a value
        // would start a new header or a new request.
        if (!isToken(h.name()) || h.value().indexOf('\r') >= 0 || h.value().indexOf('\n') >= 0) return;
        head.append(h.name()).append(": ").append(h.value()).append("\r\n");
    }

    /** RFC 9110 token ({@code 1*tchar}); by hand, as a regex match per header was ~7% of a call thread's CPU. */
    static boolean isToken(String s) {
        if (s.isEmpty()) return false;
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            boolean tchar = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || "!#$%&'*+-.^_`|~".indexOf(c) >= 0;
            if (!tchar) return false;
        }
        return true;
    }

    private StreamedResponse readResponse(boolean head) throws IOException {
        while (true) {
            StreamedResponse r = readOneResponse(head);
            // 1xx responses are interim (RFC 9110 §15.2): the final one follows on the same connection.
            if (r.status() >= 200 || r.status() == 101) return r;
        }
    }

    private StreamedResponse readOneResponse(boolean head) throws IOException {
        String statusLine = readLine();
        String[] parts = statusLine.split(" ", 3);
        if (parts.length < 2 || !parts[0].startsWith("HTTP/1.")) throw new IOException("malformed status line from function: " + statusLine);
        int status;
        try {
            status = Integer.parseInt(parts[1]);
        } catch (NumberFormatException e) {
            throw new IOException("malformed status line from function: " + statusLine);
        }
        List<HttpMessage.Header> headers = new ArrayList<>();
        int headBytes = statusLine.length();
        for (String line = readLine(); !line.isEmpty(); line = readLine()) {
            headBytes += line.length();
            if (headBytes > MAX_HEAD_BYTES) throw new IOException("response headers from function exceed 64 KiB");
            int colon = line.indexOf(':');
            if (colon <= 0) throw new IOException("malformed header line from function: " + line);
            headers.add(new HttpMessage.Header(line.substring(0, colon).trim(), line.substring(colon + 1).trim()));
        }
        String connection = HttpMessage.first(headers, "Connection");
        if (connection != null && connection.equalsIgnoreCase("close") || parts[0].equals("HTTP/1.0")) reusable = false;
        String te = HttpMessage.first(headers, "Transfer-Encoding");
        String cl = HttpMessage.first(headers, "Content-Length");
        InputStream body;
        long length;
        if (head || status == 204 || status == 304 || status / 100 == 1) {
            body = InputStream.nullInputStream();
            length = 0;
        } else if (te != null && te.toLowerCase().contains("chunked")) {
            body = new ChunkedBody();
            length = -1;
        } else if (cl != null) {
            length = parseLength(cl);
            body = new FixedLengthBody(length);
        } else {
            // No framing: the body runs until the function closes the connection.
            reusable = false;
            body = new FilterInputStream(in) {
                @Override
                public void close() {
                    // the connection is closed by its owner, not by the body
                }
            };
            length = -1;
        }
        return new StreamedResponse(status, HttpMessage.endToEnd(headers), length, body);
    }

    /** A body of known length; reading past it is EOF, ending early is an error. */
    private final class FixedLengthBody extends InputStream {
        private final long length;
        private long left;

        FixedLengthBody(long length) {
            this.length = length;
            this.left = length;
        }

        @Override
        public int read() throws IOException {
            byte[] one = new byte[1];
            return read(one, 0, 1) < 0 ? -1 : one[0] & 0xff;
        }

        @Override
        public int read(byte[] b, int off, int len) throws IOException {
            if (left == 0) return -1;
            int n = in.read(b, off, (int) Math.min(len, left));
            if (n < 0) {
                throw new EOFException("function closed the connection after " + (length - left) + " of " + length + " body bytes");
            }
            left -= n;
            return n;
        }

        @Override
        public void close() {
            if (left > 0) reusable = false; // unread body bytes would be taken for the next response
        }
    }

    /** A chunked body, decoded; trailers are dropped. */
    private final class ChunkedBody extends InputStream {
        private long chunkLeft;
        private boolean done;

        @Override
        public int read() throws IOException {
            byte[] one = new byte[1];
            return read(one, 0, 1) < 0 ? -1 : one[0] & 0xff;
        }

        @Override
        public int read(byte[] b, int off, int len) throws IOException {
            if (done) return -1;
            if (chunkLeft == 0) {
                chunkLeft = nextChunkSize();
                if (chunkLeft == 0) {
                    while (!readLine().isEmpty()) {
                        // trailers are dropped
                    }
                    done = true;
                    return -1;
                }
            }
            int n = in.read(b, off, (int) Math.min(len, chunkLeft));
            if (n < 0) throw new EOFException("function closed the connection inside a chunk");
            chunkLeft -= n;
            if (chunkLeft == 0) readLine();
            return n;
        }

        @Override
        public void close() {
            if (!done) reusable = false;
        }
    }

    private long nextChunkSize() throws IOException {
        String sizeLine = readLine();
        int semi = sizeLine.indexOf(';');
        long size;
        try {
            size = Long.parseLong((semi >= 0 ? sizeLine.substring(0, semi) : sizeLine).trim(), 16);
        } catch (NumberFormatException e) {
            throw new IOException("malformed chunk size from function: " + sizeLine);
        }
        if (size < 0) throw new IOException("malformed chunk size from function: " + sizeLine);
        return size;
    }

    private static long parseLength(String value) throws IOException {
        try {
            long n = Long.parseLong(value.trim());
            if (n >= 0) return n;
        } catch (NumberFormatException ignored) {
            // reported below
        }
        throw new IOException("malformed Content-Length from function: " + value);
    }

    private String readLine() throws IOException {
        StringBuilder sb = new StringBuilder(64);
        while (true) {
            int c = in.read();
            if (c < 0) throw new EOFException("function closed the connection");
            if (c == '\n') break;
            if (c != '\r') sb.append((char) c);
            if (sb.length() > MAX_HEAD_BYTES) throw new IOException("line from function exceeds 64 KiB");
        }
        return sb.toString();
    }

    @Override
    public void close() {
        reusable = false;
        try {
            channel.close();
        } catch (IOException ignored) {
            // closing anyway
        }
    }
}
