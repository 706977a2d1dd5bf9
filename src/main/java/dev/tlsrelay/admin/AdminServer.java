package dev.tlsrelay.admin;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.Executors;
import java.util.function.BooleanSupplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Health and metrics over HTTP, on its own port (loopback unless configured otherwise):
 * {@code GET /healthz} (200 when the listener is up and the spool writable, else 503, with the
 * last upstream outcome) and {@code GET /metrics} (Prometheus text). Read-only: nothing here
 * changes the relay.
 */
public final class AdminServer implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(AdminServer.class);
    private static final ObjectMapper JSON = new ObjectMapper();

    private final HttpServer server;

    private AdminServer(HttpServer server) {
        this.server = server;
    }

    /**
     * @param listenerUp    whether the SMTP listener accepts connections
     * @param spoolWritable whether the spool can take mail (always true in pass-through)
     */
    public static AdminServer start(InetSocketAddress address, RelayMetrics metrics, BooleanSupplier listenerUp,
            BooleanSupplier spoolWritable) throws IOException {
        HttpServer server = HttpServer.create(address, 16);
        server.setExecutor(Executors.newVirtualThreadPerTaskExecutor());
        server.createContext("/healthz", exchange -> {
            if (!get(exchange)) {
                return;
            }
            boolean listener = listenerUp.getAsBoolean();
            boolean spool = spoolWritable.getAsBoolean();
            ObjectNode o = JSON.createObjectNode();
            o.put("status", listener && spool ? "ok" : "unhealthy");
            o.put("listener", listener ? "up" : "down");
            o.put("spool", spool ? "writable" : "not writable");
            metrics.lastUpstream().ifPresentOrElse(u -> {
                ObjectNode up = o.putObject("last_upstream");
                up.put("at", u.at().toString());
                up.put("peer", u.peer());
                up.put("outcome", u.ok() ? "ok" : "failed");
                u.failure().ifPresent(f -> up.put("failure", f));
            }, () -> o.putNull("last_upstream"));
            respond(exchange, listener && spool ? 200 : 503, "application/json",
                    JSON.writerWithDefaultPrettyPrinter().writeValueAsString(o) + "\n");
        });
        server.createContext("/metrics", exchange -> {
            if (get(exchange)) {
                respond(exchange, 200, "text/plain; version=0.0.4; charset=utf-8", metrics.scrape());
            }
        });
        server.createContext("/", exchange -> respond(exchange, 404, "text/plain",
                "not found: try /healthz or /metrics\n"));
        server.start();
        log.info("health and metrics on http://{}:{}/healthz and /metrics", address.getHostString(),
                server.getAddress().getPort());
        return new AdminServer(server);
    }

    public int port() {
        return server.getAddress().getPort();
    }

    private static boolean get(HttpExchange exchange) throws IOException {
        if (!"GET".equals(exchange.getRequestMethod()) && !"HEAD".equals(exchange.getRequestMethod())) {
            exchange.getResponseHeaders().add("Allow", "GET, HEAD");
            respond(exchange, 405, "text/plain", "only GET\n");
            return false;
        }
        return true;
    }

    private static void respond(HttpExchange exchange, int status, String type, String body) throws IOException {
        byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
        exchange.getResponseHeaders().add("Content-Type", type);
        exchange.getResponseHeaders().add("Cache-Control", "no-store");
        exchange.sendResponseHeaders(status, bytes.length);
        try (OutputStream out = exchange.getResponseBody()) {
            out.write(bytes);
        }
    }

    @Override
    public void close() {
        server.stop(0);
    }
}
