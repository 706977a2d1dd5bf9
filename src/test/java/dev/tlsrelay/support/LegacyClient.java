package dev.tlsrelay.support;

import jakarta.mail.Address;
import jakarta.mail.MessagingException;
import jakarta.mail.Session;
import jakarta.mail.internet.InternetAddress;
import jakarta.mail.internet.MimeMessage;
import java.io.ByteArrayInputStream;
import java.util.Properties;
import org.eclipse.angus.mail.smtp.SMTPTransport;

/** A legacy device as the relay sees it: Jakarta Mail speaking plain SMTP, relaying bytes unchanged. */
public final class LegacyClient {

    private LegacyClient() {}

    /** Sends raw message bytes; throws with the relay's reply when refused. */
    public static String send(int port, String from, byte[] raw, String... to) throws MessagingException {
        Properties p = new Properties();
        p.put("mail.smtp.host", "127.0.0.1");
        p.put("mail.smtp.port", String.valueOf(port));
        p.put("mail.smtp.localhost", "printer.lan");
        p.put("mail.smtp.connectiontimeout", "10000");
        p.put("mail.smtp.timeout", "30000");
        // Envelope sender from the property: the message bytes stay untouched.
        p.put("mail.smtp.from", from);
        Session session = Session.getInstance(p);
        MimeMessage msg = new MimeMessage(session, new ByteArrayInputStream(raw));
        Address[] rcpts = new Address[to.length];
        for (int i = 0; i < to.length; i++) {
            rcpts[i] = new InternetAddress(to[i]);
        }
        try (SMTPTransport t = (SMTPTransport) session.getTransport("smtp")) {
            t.connect();
            t.sendMessage(msg, rcpts);
            return t.getLastServerResponse();
        }
    }

    /** A small message with CRLF line endings, 8-bit text and a leading-dot line. */
    public static byte[] sampleMessage(String subject) {
        String s = "From: Printer <printer@office.test>\r\n"
                + "To: Admin <admin@office.test>\r\n"
                + "Subject: " + subject + "\r\n"
                + "Message-ID: <" + subject.hashCode() + "@office.test>\r\n"
                + "MIME-Version: 1.0\r\n"
                + "Content-Type: text/plain; charset=UTF-8\r\n"
                + "Content-Transfer-Encoding: 8bit\r\n"
                + "\r\n"
                + "Scan complete: 3 pages. Grüße.\r\n"
                + ".a line that starts with a dot\r\n"
                + "\r\n"
                + "end\r\n";
        return s.getBytes(java.nio.charset.StandardCharsets.UTF_8);
    }
}
