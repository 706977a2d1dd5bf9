package dev.tlsrelay.tls;

import java.io.FilterInputStream;
import java.io.FilterOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.Socket;
import java.net.SocketAddress;
import java.net.SocketException;
import java.net.SocketOption;
import java.nio.channels.SocketChannel;
import java.util.Optional;
import java.util.Set;

/**
 * The TLS alerts of one upstream connection's handshake, read off the wire. The JDK's TLS provider
 * reports an alert only as exception text, and the relay never classifies a failure by text; so the
 * TLS socket is layered over {@link #watch(Socket)}, which parses the record headers in both
 * directions while they are in the clear and keeps the first alert each side sent. That is the
 * alert itself, typed ({@code protocol_version} is 70 in both directions: the server's answer to a
 * ClientHello it cannot serve, or the client's to a ServerHello of a version it did not offer).
 *
 * <p>Parsing stops at the first ChangeCipherSpec or application-data record of a direction: from
 * there on alerts are encrypted (and the relay's verdicts come from the trust manager). Bytes pass
 * through unchanged.
 */
final class HandshakeAlerts {

    private static final int ALERT = 21;
    private static final int CHANGE_CIPHER_SPEC = 20;
    private static final int APPLICATION_DATA = 23;

    private final RecordScanner fromServer = new RecordScanner();
    private final RecordScanner fromClient = new RecordScanner();

    /** The alert description the server sent in the clear, if any. */
    Optional<Integer> received() {
        return fromServer.alert();
    }

    /** The alert description the relay sent in the clear, if any. */
    Optional<Integer> sent() {
        return fromClient.alert();
    }

    /** Whether either side ended the handshake with {@code protocol_version}. */
    boolean protocolVersion() {
        return received().orElse(-1) == 70 || sent().orElse(-1) == 70;
    }

    /** {@code plain}, with its two streams watched; the TLS socket is layered over this one. */
    Socket watch(Socket plain) {
        return new WatchedSocket(plain);
    }

    /** Follows the record layer of one direction: header by header, keeping a plaintext alert. */
    private static final class RecordScanner {
        private final byte[] header = new byte[5];
        private int headerFilled;
        private int bodyLeft;
        private int type;
        private int bodyRead;
        private int level = -1;
        private volatile boolean done;
        private volatile Integer alert;

        Optional<Integer> alert() {
            return Optional.ofNullable(alert);
        }

        synchronized void scan(byte[] b, int off, int len) {
            int i = off;
            int end = off + len;
            while (i < end && !done) {
                if (bodyLeft > 0) {
                    int n = Math.min(bodyLeft, end - i);
                    if (type == ALERT && alert == null) {
                        for (int k = 0; k < n; k++) {
                            alertByte(b[i + k] & 0xff);
                        }
                    }
                    i += n;
                    bodyLeft -= n;
                    continue;
                }
                header[headerFilled++] = b[i++];
                if (headerFilled == header.length) {
                    headerFilled = 0;
                    type = header[0] & 0xff;
                    bodyLeft = ((header[3] & 0xff) << 8) | (header[4] & 0xff);
                    bodyRead = 0;
                    level = -1;
                    if (type == CHANGE_CIPHER_SPEC || type == APPLICATION_DATA
                            || (type == ALERT && bodyLeft != 2)) {
                        done = true; // encrypted from here on
                    }
                }
            }
        }

        private void alertByte(int value) {
            if (bodyRead++ == 0) {
                level = value;
            } else if (level == 2) { // fatal
                alert = value;
                done = true;
            }
        }
    }

    private final class WatchedInput extends FilterInputStream {
        WatchedInput(InputStream in) {
            super(in);
        }

        @Override
        public int read() throws IOException {
            int b = super.read();
            if (b >= 0 && !fromServer.done) {
                fromServer.scan(new byte[] {(byte) b}, 0, 1);
            }
            return b;
        }

        @Override
        public int read(byte[] b, int off, int len) throws IOException {
            int n = in.read(b, off, len);
            if (n > 0 && !fromServer.done) {
                fromServer.scan(b, off, n);
            }
            return n;
        }
    }

    private final class WatchedOutput extends FilterOutputStream {
        WatchedOutput(OutputStream out) {
            super(out);
        }

        @Override
        public void write(int b) throws IOException {
            if (!fromClient.done) {
                fromClient.scan(new byte[] {(byte) b}, 0, 1);
            }
            out.write(b);
        }

        @Override
        public void write(byte[] b, int off, int len) throws IOException {
            if (!fromClient.done) {
                fromClient.scan(b, off, len);
            }
            out.write(b, off, len);
        }
    }

    /**
     * A connected socket with watched streams. Every method the JDK's TLS socket calls on the
     * socket it is layered over goes to {@code plain}.
     */
    private final class WatchedSocket extends Socket {
        private final Socket plain;
        private final InputStream in;
        private final OutputStream out;

        WatchedSocket(Socket plain) {
            this.plain = plain;
            InputStream i;
            OutputStream o;
            try {
                i = new WatchedInput(plain.getInputStream());
                o = new WatchedOutput(plain.getOutputStream());
            } catch (IOException e) {
                // Not connected or already closed: the TLS layer finds that out itself.
                i = null;
                o = null;
            }
            this.in = i;
            this.out = o;
        }

        @Override
        public InputStream getInputStream() throws IOException {
            if (in == null) {
                return plain.getInputStream();
            }
            return in;
        }

        @Override
        public OutputStream getOutputStream() throws IOException {
            if (out == null) {
                return plain.getOutputStream();
            }
            return out;
        }

        @Override
        public void connect(SocketAddress endpoint, int timeout) throws IOException {
            throw new SocketException("already connected");
        }

        @Override
        public void bind(SocketAddress bindpoint) throws IOException {
            throw new SocketException("already bound");
        }

        @Override
        public synchronized void close() throws IOException {
            plain.close();
        }

        @Override
        public boolean isClosed() {
            return plain.isClosed();
        }

        @Override
        public SocketChannel getChannel() {
            return plain.getChannel();
        }

        @Override
        public InetAddress getInetAddress() {
            return plain.getInetAddress();
        }

        @Override
        public InetAddress getLocalAddress() {
            return plain.getLocalAddress();
        }

        @Override
        public int getPort() {
            return plain.getPort();
        }

        @Override
        public int getLocalPort() {
            return plain.getLocalPort();
        }

        @Override
        public SocketAddress getRemoteSocketAddress() {
            return plain.getRemoteSocketAddress();
        }

        @Override
        public SocketAddress getLocalSocketAddress() {
            return plain.getLocalSocketAddress();
        }

        @Override
        public boolean isConnected() {
            return plain.isConnected();
        }

        @Override
        public boolean isBound() {
            return plain.isBound();
        }

        @Override
        public void shutdownInput() throws IOException {
            plain.shutdownInput();
        }

        @Override
        public void shutdownOutput() throws IOException {
            plain.shutdownOutput();
        }

        @Override
        public boolean isInputShutdown() {
            return plain.isInputShutdown();
        }

        @Override
        public boolean isOutputShutdown() {
            return plain.isOutputShutdown();
        }

        @Override
        public void setTcpNoDelay(boolean on) throws SocketException {
            plain.setTcpNoDelay(on);
        }

        @Override
        public boolean getTcpNoDelay() throws SocketException {
            return plain.getTcpNoDelay();
        }

        @Override
        public void setSoLinger(boolean on, int linger) throws SocketException {
            plain.setSoLinger(on, linger);
        }

        @Override
        public int getSoLinger() throws SocketException {
            return plain.getSoLinger();
        }

        @Override
        public synchronized void setSoTimeout(int timeout) throws SocketException {
            plain.setSoTimeout(timeout);
        }

        @Override
        public synchronized int getSoTimeout() throws SocketException {
            return plain.getSoTimeout();
        }

        @Override
        public synchronized void setSendBufferSize(int size) throws SocketException {
            plain.setSendBufferSize(size);
        }

        @Override
        public synchronized int getSendBufferSize() throws SocketException {
            return plain.getSendBufferSize();
        }

        @Override
        public synchronized void setReceiveBufferSize(int size) throws SocketException {
            plain.setReceiveBufferSize(size);
        }

        @Override
        public synchronized int getReceiveBufferSize() throws SocketException {
            return plain.getReceiveBufferSize();
        }

        @Override
        public void setKeepAlive(boolean on) throws SocketException {
            plain.setKeepAlive(on);
        }

        @Override
        public boolean getKeepAlive() throws SocketException {
            return plain.getKeepAlive();
        }

        @Override
        public void setTrafficClass(int tc) throws SocketException {
            plain.setTrafficClass(tc);
        }

        @Override
        public int getTrafficClass() throws SocketException {
            return plain.getTrafficClass();
        }

        @Override
        public void setReuseAddress(boolean on) throws SocketException {
            plain.setReuseAddress(on);
        }

        @Override
        public boolean getReuseAddress() throws SocketException {
            return plain.getReuseAddress();
        }

        @Override
        public void setPerformancePreferences(int connectionTime, int latency, int bandwidth) {
            plain.setPerformancePreferences(connectionTime, latency, bandwidth);
        }

        @Override
        public <T> Socket setOption(SocketOption<T> name, T value) throws IOException {
            plain.setOption(name, value);
            return this;
        }

        @Override
        public <T> T getOption(SocketOption<T> name) throws IOException {
            return plain.getOption(name);
        }

        @Override
        public Set<SocketOption<?>> supportedOptions() {
            return plain.supportedOptions();
        }

        @Override
        public String toString() {
            return plain.toString();
        }
    }
}
