package dev.tlsrelay.inbound;

import dev.tlsrelay.config.RelayConfig;
import java.io.IOException;
import java.io.InputStream;
import java.util.Locale;
import java.util.Optional;

/**
 * Who may send through the relay and as whom the upstream sees them: the sender allow-list, the
 * envelope sender rewrite, and the optional From: header rewrite.
 */
final class SenderPolicy {

    private final RelayConfig.SenderPolicy config;
    private final Optional<HeaderFromRewriter> headerRewriter;

    SenderPolicy(RelayConfig.SenderPolicy config) {
        this.config = config;
        this.headerRewriter = config.rewriteHeaderFrom() ? config.rewriteFrom().map(HeaderFromRewriter::new)
                : Optional.empty();
    }

    /** Whether this envelope sender may use the relay (an address or its domain is listed; empty list: all). */
    boolean allows(String sender) {
        if (config.allowed().isEmpty()) {
            return true;
        }
        String s = sender.toLowerCase(Locale.ROOT);
        String domain = s.substring(s.lastIndexOf('@') + 1);
        return config.allowed().stream().map(a -> a.toLowerCase(Locale.ROOT))
                .anyMatch(a -> a.contains("@") ? a.equals(s) : a.equals(domain));
    }

    /** The envelope sender the upstream gets. The null sender (bounces) is never rewritten. */
    String envelopeSender(String sender) {
        return sender.isEmpty() ? sender : config.rewriteFrom().orElse(sender);
    }

    /** The body as the upstream gets it. */
    InputStream body(InputStream in) throws IOException {
        return headerRewriter.isPresent() ? headerRewriter.get().wrap(in) : in;
    }
}
