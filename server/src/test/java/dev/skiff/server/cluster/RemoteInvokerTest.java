package dev.skiff.server.cluster;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.skiff.invoker.FunctionConfigParser;
import dev.skiff.invoker.FunctionDeployment;
import dev.skiff.invoker.InvocationException;
import dev.skiff.invoker.InvocationRequest;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.Test;

class RemoteInvokerTest {
    @Test
    void anInvokerThatTakesTheCallAndNeverAnswersIsGivenUpOnAtTheDeadline() throws Exception {
        List<Socket> held = new CopyOnWriteArrayList<>();
        // An invoker that froze: it accepts the connection, reads nothing, answers nothing.
        try (ServerSocket frozen = new ServerSocket(0, 50, InetAddress.getLoopbackAddress())) {
            Thread.ofVirtual().start(() -> {
                try {
                    while (true) held.add(frozen.accept());
                } catch (Exception closed) {
                    // test over
                }
            });
            FunctionDeployment d = new FunctionDeployment(FunctionConfigParser.parse("name: f\nruntime: python\n"), 1, Path.of("/nonexistent"));
            InvocationRequest call = new InvocationRequest("call-1", "GET", "/", "", List.of(), new byte[0]);
            long started = System.nanoTime();
            // Without the deadline the call would wait for ever: fail after 20 s instead of hanging.
            InvocationException e = org.junit.jupiter.api.Assertions.assertTimeoutPreemptively(Duration.ofSeconds(20), () -> assertThrows(
                    InvocationException.class, () -> new RemoteInvoker(() -> "k")
                            .invokeStreaming("http://127.0.0.1:" + frozen.getLocalPort(), d, call, 10, Duration.ofMillis(500))));
            double seconds = (System.nanoTime() - started) / 1e9;
            assertEquals(504, e.status());
            assertEquals("invoker_silent", e.error());
            assertTrue(seconds >= 0.45 && seconds < 10, "gave up after " + seconds + " s");
        } finally {
            for (Socket s : held) s.close();
        }
    }
}
