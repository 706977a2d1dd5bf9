package dev.tlsrelay.inbound;

import java.io.FilterOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketException;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;

/**
 * A server socket whose connections advertise PIPELINING (RFC 2920) in the EHLO reply.
 * SubEthaSMTP processes pipelined commands correctly (it reads one command at a time from a
 * buffered stream and answers each in order) but does not list the extension, and its EHLO command
 * cannot be replaced. Its EHLO reply is written in one piece, so the line is inserted in that write.
 */
final class PipeliningServerSocket extends ServerSocket {

    PipeliningServerSocket() throws IOException {
        super();
    }

    @Override
    public Socket accept() throws IOException {
        if (isClosed()) {
            throw new SocketException("Socket is closed");
        }
        Socket s = new AdvertisingSocket();
        implAccept(s);
        return s;
    }

    private static final class AdvertisingSocket extends Socket {
        private OutputStream out;

        @Override
        public synchronized OutputStream getOutputStream() throws IOException {
            if (out == null) {
                out = new EhloRewriter(super.getOutputStream());
            }
            return out;
        }
    }

    /** Inserts {@code 250-PIPELINING} before the {@code 250-8BITMIME} line of an EHLO reply. */
    static final class EhloRewriter extends FilterOutputStream {
        private static final byte[] MARK = "\r\n250-8BITMIME\r\n".getBytes(StandardCharsets.US_ASCII);
        private static final byte[] INSERT = "\r\n250-PIPELINING".getBytes(StandardCharsets.US_ASCII);

        EhloRewriter(OutputStream out) {
            super(out);
        }

        @Override
        public void write(byte[] b, int off, int len) throws IOException {
            int at = len >= MARK.length && b[off] == '2' ? indexOf(b, off, len) : -1;
            if (at < 0) {
                out.write(b, off, len);
                return;
            }
            out.write(b, off, at - off);
            out.write(INSERT);
            out.write(b, at, len - (at - off));
        }

        private static int indexOf(byte[] b, int off, int len) {
            for (int i = off; i <= off + len - MARK.length; i++) {
                if (Arrays.equals(b, i, i + MARK.length, MARK, 0, MARK.length)) {
                    return i;
                }
            }
            return -1;
        }
    }
}
