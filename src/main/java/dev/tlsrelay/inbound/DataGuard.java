package dev.tlsrelay.inbound;

import dev.tlsrelay.config.RelayConfig.BareNewline;
import dev.tlsrelay.upstream.SmtpReply;
import java.io.FilterInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.PushbackInputStream;

/**
 * The message body as it streams in from the client, checked and made canonical on the way:
 * <ul>
 *   <li>Bare CR and bare LF are refused ({@code 550 5.6.0}) or turned into CRLF. This is the SMTP
 *       smuggling defence: whatever the client sends, every line the upstream sees ends in CRLF, so
 *       {@code <LF>.<LF>}, {@code <CR>.<CR>} and their kin can never end a message early there.</li>
 *   <li>Lines longer than the limit (RFC 5321: 1000 octets with CRLF) are refused ({@code 500 5.5.2}).</li>
 *   <li>The size is counted while streaming; above the limit, {@code 552 5.3.4}. Nothing is buffered
 *       beyond one read, so memory stays bounded whatever the client sends.</li>
 *   <li>SubEthaSMTP leaves a dot-stuffed first line ({@code ..x}) stuffed; it is unstuffed here.</li>
 * </ul>
 * A violation throws {@link DataRejectedException} from {@code read}.
 */
final class DataGuard extends FilterInputStream {

    private static final int CHUNK = 8192;

    private final BareNewline policy;
    private final long maxSize;
    private final int maxLineContent;
    private final byte[] chunk = new byte[CHUNK];
    /** Normalising can at most double the bytes (every byte a bare LF). */
    private final byte[] out = new byte[CHUNK * 2 + 2];
    private int outPos;
    private int outLen;
    private boolean started;
    private boolean prevCr;
    private int lineLength;
    private long size;
    private boolean eof;

    DataGuard(InputStream body, BareNewline policy, long maxSize, int maxLineLength) {
        super(new PushbackInputStream(body, 2));
        this.policy = policy;
        this.maxSize = maxSize;
        this.maxLineContent = maxLineLength - 2;
    }

    @Override
    public int read() throws IOException {
        byte[] one = new byte[1];
        int n = read(one, 0, 1);
        return n < 0 ? -1 : one[0] & 0xff;
    }

    @Override
    public int read(byte[] b, int off, int len) throws IOException {
        if (len == 0) {
            return 0;
        }
        while (outPos == outLen) {
            if (eof) {
                return -1;
            }
            fill();
        }
        int n = Math.min(len, outLen - outPos);
        System.arraycopy(out, outPos, b, off, n);
        outPos += n;
        return n;
    }

    private void fill() throws IOException {
        outPos = 0;
        outLen = 0;
        if (!started) {
            started = true;
            unstuffFirstLine();
        }
        int n = super.in.read(chunk, 0, CHUNK);
        if (n < 0) {
            eof = true;
            if (prevCr) {
                bareLineEnding("CR");
                emit('\n');
            }
            return;
        }
        for (int i = 0; i < n; i++) {
            byte c = chunk[i];
            if (prevCr) {
                prevCr = false;
                if (c == '\n') {
                    emit('\n');
                    lineLength = 0;
                    continue;
                }
                bareLineEnding("CR");
                emit('\n');
                lineLength = 0;
            }
            if (c == '\r') {
                emit('\r');
                prevCr = true;
            } else if (c == '\n') {
                bareLineEnding("LF");
                emit('\r');
                emit('\n');
                lineLength = 0;
            } else {
                emit(c);
                if (++lineLength > maxLineContent) {
                    throw new DataRejectedException(new SmtpReply(500, "5.5.2 Line too long: more than "
                            + (maxLineContent + 2) + " octets; wrap lines (RFC 5321) or raise listen.max-line-length"));
                }
            }
        }
    }

    /** SubEthaSMTP's unstuffing misses the very first line: ".." there stands for ".". */
    private void unstuffFirstLine() throws IOException {
        PushbackInputStream p = (PushbackInputStream) super.in;
        int a = p.read();
        if (a < 0) {
            return;
        }
        int b = p.read();
        if (b >= 0) {
            p.unread(b);
        }
        if (!(a == '.' && b == '.')) {
            p.unread(a);
        }
    }

    private void bareLineEnding(String which) throws DataRejectedException {
        if (policy == BareNewline.REJECT) {
            throw new DataRejectedException(new SmtpReply(550, "5.6.0 Bare " + which + " in the message: lines must"
                    + " end with CRLF (an SMTP smuggling defence); message refused"));
        }
    }

    private void emit(int c) throws DataRejectedException {
        if (++size > maxSize) {
            throw new DataRejectedException(new SmtpReply(552, "5.3.4 Message too big: the limit is " + maxSize
                    + " bytes"));
        }
        out[outLen++] = (byte) c;
    }

    /** Bytes passed on so far (after canonicalisation). */
    long size() {
        return size;
    }
}
