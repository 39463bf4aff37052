package dev.skiff.bench;

import java.io.Closeable;
import java.io.EOFException;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.StandardSocketOptions;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.file.Path;

/**
 * The least a TCP front for a unix-socket function can do: one platform thread per client
 * connection with its own keep-alive connection to the function's socket, relaying each request
 * and response as bytes (framed by Content-Length, nothing parsed or rewritten beyond that). It
 * is the floor for any gateway in a JVM: what an extra hop through one process costs on this
 * machine, without thread hand-offs, pools, metrics or header handling.
 */
final class Relay implements Closeable {
    private final ServerSocketChannel server;
    private final Path upstream;

    Relay(Path upstream) throws IOException {
        this.upstream = upstream;
        server = ServerSocketChannel.open().bind(new InetSocketAddress("127.0.0.1", 0));
        Thread.ofPlatform().daemon().name("relay-accept").start(this::acceptLoop);
    }

    InetSocketAddress address() throws IOException {
        return (InetSocketAddress) server.getLocalAddress();
    }

    private void acceptLoop() {
        while (server.isOpen()) {
            try {
                SocketChannel down = server.accept();
                down.setOption(StandardSocketOptions.TCP_NODELAY, true);
                Thread.ofPlatform().daemon().name("relay").start(() -> serve(down));
            } catch (IOException closed) {
                return;
            }
        }
    }

    private void serve(SocketChannel down) {
        ByteBuffer buf = ByteBuffer.allocate(64 * 1024);
        try (down; SocketChannel up = SocketChannel.open(UnixDomainSocketAddress.of(upstream))) {
            while (true) {
                if (!readMessage(down, buf, true)) return; // the client closed between requests
                write(up, buf);
                if (!readMessage(up, buf, false)) throw new EOFException("function closed the connection");
                write(down, buf);
            }
        } catch (IOException e) {
            // the client or the function went away; the client sees it
        }
    }

    /** Reads one whole HTTP message (head + Content-Length body) into buf, flipped for writing. */
    private static boolean readMessage(SocketChannel ch, ByteBuffer buf, boolean eofOk) throws IOException {
        buf.clear();
        int headEnd = -1;
        while (headEnd < 0) {
            if (ch.read(buf) < 0) {
                if (eofOk && buf.position() == 0) return false;
                throw new EOFException("connection closed inside a message");
            }
            headEnd = HttpLoad.Connection.find(buf.array(), buf.position());
            if (headEnd < 0 && !buf.hasRemaining()) throw new IOException("head over 64 KiB");
        }
        int length = Math.max(0, HttpLoad.Connection.contentLength(buf.array(), headEnd));
        if (headEnd + length > buf.capacity()) throw new IOException("message over 64 KiB");
        while (buf.position() < headEnd + length) {
            if (ch.read(buf) < 0) throw new EOFException("connection closed inside a body");
        }
        buf.flip();
        return true;
    }

    private static void write(SocketChannel ch, ByteBuffer buf) throws IOException {
        while (buf.hasRemaining()) ch.write(buf);
    }

    @Override
    public void close() throws IOException {
        server.close();
    }
}
