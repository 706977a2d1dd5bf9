package dev.tlsrelay.delivery;

import java.nio.charset.StandardCharsets;
import java.time.ZoneOffset;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.util.Locale;

/** The one trace header the relay adds (RFC 5321 section 4.4), built only from sanitised values. */
final class ReceivedHeader {

    private static final DateTimeFormatter DATE = DateTimeFormatter.ofPattern("EEE, d MMM yyyy HH:mm:ss Z",
            Locale.ROOT);

    private ReceivedHeader() {}

    static byte[] build(ClientSession client, String relayHostname, ZonedDateTime at) {
        String header = "Received: from " + client.helo() + " ([" + client.clientAddress() + "])\r\n"
                + "\tby " + relayHostname + " (tlsrelay) with " + client.protocol() + " id " + client.sessionId() + ";\r\n"
                + "\t" + DATE.format(at.withZoneSameInstant(ZoneOffset.UTC)) + "\r\n";
        return header.getBytes(StandardCharsets.US_ASCII);
    }
}
