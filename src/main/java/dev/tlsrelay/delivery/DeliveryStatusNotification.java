package dev.tlsrelay.delivery;

import dev.tlsrelay.spool.QueuedMessage;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.List;
import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A bounce: a delivery status notification (RFC 3464, {@code multipart/report}) telling the sender
 * which recipients the relay gave up on and why, with the original headers attached.
 */
final class DeliveryStatusNotification {

    /** Enough of the original headers to identify it, never the whole message. */
    private static final int MAX_HEADER_BYTES = 64 * 1024;
    private static final Pattern STATUS = Pattern.compile("\\b([245]\\.\\d{1,3}\\.\\d{1,3})\\b");
    private static final DateTimeFormatter DATE = DateTimeFormatter.ofPattern("EEE, d MMM yyyy HH:mm:ss Z",
            Locale.ROOT);

    private DeliveryStatusNotification() {}

    static byte[] build(QueuedMessage m, List<QueuedMessage.Recipient> failed, String relayHostname,
            InputStream original) throws IOException {
        String boundary = "tlsrelay-dsn-" + m.id();
        String now = DATE.format(java.time.ZonedDateTime.now(ZoneOffset.UTC));
        StringBuilder s = new StringBuilder();
        s.append("From: Mail Delivery System <MAILER-DAEMON@").append(relayHostname).append(">\r\n");
        s.append("To: <").append(m.sender()).append(">\r\n");
        s.append("Subject: Undelivered Mail Returned to Sender\r\n");
        s.append("Date: ").append(now).append("\r\n");
        s.append("Message-ID: <").append(m.id()).append(".dsn@").append(relayHostname).append(">\r\n");
        s.append("Auto-Submitted: auto-replied\r\n");
        s.append("MIME-Version: 1.0\r\n");
        s.append("Content-Type: multipart/report; report-type=delivery-status; boundary=\"").append(boundary)
                .append("\"\r\n\r\n");
        s.append("--").append(boundary).append("\r\n");
        s.append("Content-Type: text/plain; charset=us-ascii\r\n\r\n");
        s.append("This is the tlsrelay mail relay at ").append(relayHostname).append(".\r\n\r\n");
        s.append("Your message could not be delivered to the following recipient(s):\r\n\r\n");
        for (QueuedMessage.Recipient r : failed) {
            s.append("  <").append(r.address()).append(">: ").append(ascii(r.reply().orElse("failed"))).append("\r\n");
        }
        s.append("\r\n--").append(boundary).append("\r\n");
        s.append("Content-Type: message/delivery-status\r\n\r\n");
        s.append("Reporting-MTA: dns; ").append(relayHostname).append("\r\n");
        s.append("Arrival-Date: ").append(DATE.format(m.receivedAt().atZone(ZoneOffset.UTC))).append("\r\n");
        for (QueuedMessage.Recipient r : failed) {
            String reply = ascii(r.reply().orElse("failed"));
            s.append("\r\nFinal-Recipient: rfc822; ").append(r.address()).append("\r\n");
            s.append("Action: failed\r\n");
            s.append("Status: ").append(status(reply)).append("\r\n");
            s.append("Diagnostic-Code: smtp; ").append(reply).append("\r\n");
        }
        s.append("\r\n--").append(boundary).append("\r\n");
        s.append("Content-Type: text/rfc822-headers\r\n\r\n");
        s.append(headers(original));
        s.append("\r\n--").append(boundary).append("--\r\n");
        return s.toString().getBytes(StandardCharsets.UTF_8);
    }

    /** The enhanced status code of a reply, or a generic permanent failure. */
    static String status(String reply) {
        Matcher matcher = STATUS.matcher(reply);
        return matcher.find() ? matcher.group(1) : "5.0.0";
    }

    private static String headers(InputStream original) throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        int prev = -1;
        int prev2 = -1;
        int b;
        while (out.size() < MAX_HEADER_BYTES && (b = original.read()) != -1) {
            out.write(b);
            // The header ends at the first empty line (CRLF CRLF, or LF LF).
            if (b == '\n' && (prev == '\n' || (prev == '\r' && prev2 == '\n'))) {
                break;
            }
            prev2 = prev;
            prev = b;
        }
        return out.toString(StandardCharsets.UTF_8).stripTrailing() + "\r\n";
    }

    private static String ascii(String s) {
        return s.replaceAll("[^\\x20-\\x7e]", "?");
    }
}
