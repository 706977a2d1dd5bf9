package dev.tlsrelay.probe;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.EOFException;
import java.net.ProtocolException;
import java.nio.charset.StandardCharsets;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** What the probe reads from a server is bounded and parsed strictly; capabilities are read as servers send them. */
@Timeout(10)
class SmtpConversationTest {

    private static SmtpConversation server(String bytes) {
        return new SmtpConversation(new ByteArrayInputStream(bytes.getBytes(StandardCharsets.UTF_8)),
                new ByteArrayOutputStream());
    }

    @Test
    void multiLineRepliesAreReadWhole() throws Exception {
        SmtpConversation.Reply r = server("250-mx.test hello\r\n250-SIZE 35882577\r\n250-AUTH=LOGIN\r\n"
                + "250-AUTH PLAIN LOGIN XOAUTH2\r\n250 STARTTLS\r\n").reply();
        assertEquals(250, r.code());
        Capabilities c = Capabilities.fromEhlo(r.lines());
        assertTrue(c.startTls());
        assertEquals(List.of("PLAIN", "LOGIN", "XOAUTH2"), c.authMechanisms());
        assertEquals(35882577L, c.sizeLimit().getAsLong());
        assertFalse(c.pipelining());
        assertEquals(List.of("LOGIN"), Capabilities.fromEhlo(List.of("x", "AUTH=LOGIN")).authMechanisms(),
                "the old AUTH= spelling alone still counts");
    }

    @Test
    void garbageOverlongAndEndlessRepliesAreRefused() {
        assertThrows(ProtocolException.class, () -> server("HTTP/1.1 400 Bad Request\r\n").reply());
        assertThrows(ProtocolException.class, () -> server("250-a\r\n220 b\r\n").reply(), "code changed mid-reply");
        assertThrows(ProtocolException.class, () -> server("220 " + "x".repeat(5000) + "\r\n").reply());
        assertThrows(ProtocolException.class, () -> server("250-x\r\n".repeat(200)).reply());
        assertThrows(EOFException.class, () -> server("220 half a li").reply());
    }

    @Test
    void serverTextIsMadeSafeToPrint() throws Exception {
        SmtpConversation.Reply r = server("220 evil\u001b[2Jbanner\r\n").reply();
        assertEquals("220 evil?[2Jbanner", r.oneLine());
    }
}
