package dev.tlsrelay.cli;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code tlsrelay healthcheck}: asks a running relay's /healthz; for Docker's HEALTHCHECK and scripts. */
@Command(name = "healthcheck", mixinStandardHelpOptions = true,
        description = "Ask a running relay's health endpoint; exit 0 if healthy, 1 if not or unreachable.")
final class HealthcheckCommand implements Callable<Integer> {

    @Option(names = "--host", defaultValue = "127.0.0.1", description = "admin.host (default ${DEFAULT-VALUE})")
    String host;

    @Option(names = "--port", defaultValue = "2580", description = "admin.port (default ${DEFAULT-VALUE})")
    int port;

    @Spec
    CommandSpec spec;

    @Override
    public Integer call() {
        try {
            HttpClient client = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(3)).build();
            HttpResponse<String> r = client.send(HttpRequest.newBuilder(
                    URI.create("http://" + (host.contains(":") ? "[" + host + "]" : host) + ":" + port + "/healthz"))
                    .timeout(Duration.ofSeconds(5)).GET().build(), HttpResponse.BodyHandlers.ofString());
            spec.commandLine().getOut().print(r.body());
            spec.commandLine().getOut().flush();
            return r.statusCode() == 200 ? 0 : 1;
        } catch (Exception e) {
            spec.commandLine().getErr().println("tlsrelay healthcheck: no answer from " + host + ":" + port + " ("
                    + e.getMessage() + "); is the relay running with admin.port set?");
            return 1;
        }
    }
}
