package dev.skiff.gateway;

import dev.skiff.invoker.RequestBodyException;
import io.vertx.core.Context;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpServerRequest;
import java.io.IOException;
import java.io.InputStream;
import java.util.concurrent.LinkedBlockingQueue;

/**
 * The caller's request body as a blocking InputStream, for the invoker's virtual thread, without
 * buffering it whole: the request is paused while a few chunks wait unread (back-pressure), and
 * a body that grows past the limit fails the stream with a 413.
 */
final class RequestBodyStream extends InputStream {
    private static final Object END = new Object();
    private static final int HIGH_WATER = 8;

    private final HttpServerRequest request;
    private final Context context;
    private final long limit;
    private final LinkedBlockingQueue<Object> chunks = new LinkedBlockingQueue<>();
    private long received;
    /** Written on the event loop, read by the call thread: it asks for a resume only when needed. */
    private volatile boolean paused;
    private Buffer current;
    private int pos;
    private boolean ended;

    /** Must be created on the request's event loop, before it delivers any body. */
    RequestBodyStream(HttpServerRequest request, Context context, long limit) {
        this.request = request;
        this.context = context;
        this.limit = limit;
        request.handler(this::onChunk);
        request.endHandler(v -> chunks.add(END));
        request.exceptionHandler(chunks::add);
    }

    private void onChunk(Buffer b) {
        received += b.length();
        if (received > limit) {
            chunks.add(new RequestBodyException(413, "the request body exceeds the limit of " + limit + " bytes"));
            request.handler(null);
            return;
        }
        chunks.add(b);
        if (chunks.size() >= HIGH_WATER && !paused) {
            paused = true;
            request.pause();
            // The reader may have drained the queue before it could see the pause: check again.
            if (chunks.size() < HIGH_WATER / 2) resume();
        }
    }

    /** On the event loop. */
    private void resume() {
        if (paused) {
            paused = false;
            request.resume();
        }
    }

    @Override
    public int read() throws IOException {
        byte[] one = new byte[1];
        return read(one, 0, 1) < 0 ? -1 : one[0] & 0xff;
    }

    @Override
    public int read(byte[] b, int off, int len) throws IOException {
        if (ended) return -1;
        while (current == null || pos == current.length()) {
            Object next;
            try {
                next = chunks.take();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IOException("interrupted while reading the request body");
            }
            // Only a paused request needs the event loop: each runOnContext wakes it up.
            if (paused && chunks.size() < HIGH_WATER / 2) context.runOnContext(v -> resume());
            if (next == END) {
                ended = true;
                return -1;
            }
            if (next instanceof IOException e) throw e;
            if (next instanceof Throwable t) throw new RequestBodyException(400, "the request body broke off: " + t.getMessage());
            current = (Buffer) next;
            pos = 0;
        }
        int n = Math.min(len, current.length() - pos);
        current.getBytes(pos, pos + n, b, off);
        pos += n;
        return n;
    }
}
