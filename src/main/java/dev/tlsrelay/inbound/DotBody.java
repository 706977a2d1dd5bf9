package dev.tlsrelay.inbound;

import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;

/**
 * A DATA body read from the session's input up to {@code <CRLF>.<CRLF>}, dot-unstuffed, in bulk.
 * It gives exactly the bytes SubEthaSMTP's {@code DotTerminatedInputStream} and
 * {@code DotUnstuffingInputStream} give (those read and unstuff one byte per virtual call, through
 * three stream layers, which was a fifth of the relay's CPU in pass-through):
 * <ul>
 *   <li>The body ends at {@code .CRLF} at the start of a line; the start of the body counts as the
 *       start of a line, so {@code .CRLF} right away is an empty body. The CRLF before the final dot
 *       belongs to the body.</li>
 *   <li>A dot at the start of any other line is removed (RFC 5321 4.5.2). On the first line it is
 *       left, as SubEthaSMTP leaves it; {@link DataGuard} unstuffs that one.</li>
 *   <li>Only raw CRLF starts a line: after a bare CR or LF a dot is data.</li>
 *   <li>The end of the connection before the final dot is an {@link EOFException}.</li>
 *   <li>Nothing after the final dot is consumed: pipelined commands stay in the session's input.
 *       Reads go through {@code mark}/{@code reset} on the session's buffered input; an input without
 *       mark support is read one byte at a time.</li>
 * </ul>
 */
final class DotBody extends InputStream {

    private static final int CHUNK = 8192;

    private enum State { FIRST_LINE_START, LINE_START, MIDDLE, AFTER_CR, DOT, DOT_CR, DONE }

    private final InputStream in;
    private final byte[] raw;
    /** One chunk can produce two more bytes than it has: a held-back dot and CR that turned out to be data. */
    private final byte[] out;
    private int outPos;
    private int outLen;
    private State state = State.FIRST_LINE_START;
    /** Whether the dot held back in DOT or DOT_CR began the first line (and so is kept, not unstuffed). */
    private boolean dotOnFirstLine;

    DotBody(InputStream sessionInput) {
        this.in = sessionInput;
        int chunk = sessionInput.markSupported() ? CHUNK : 1;
        this.raw = new byte[chunk];
        this.out = new byte[chunk + 2];
    }

    @Override
    public int read() throws IOException {
        while (outPos == outLen) {
            if (state == State.DONE) {
                return -1;
            }
            fill();
        }
        return out[outPos++] & 0xff;
    }

    @Override
    public int read(byte[] b, int off, int len) throws IOException {
        java.util.Objects.checkFromIndexSize(off, len, b.length);
        if (len == 0) {
            return 0;
        }
        while (outPos == outLen) {
            if (state == State.DONE) {
                return -1;
            }
            fill();
        }
        int n = Math.min(len, outLen - outPos);
        System.arraycopy(out, outPos, b, off, n);
        outPos += n;
        return n;
    }

    @Override
    public int available() {
        return outLen - outPos;
    }

    private void fill() throws IOException {
        outPos = 0;
        outLen = 0;
        boolean marked = raw.length > 1;
        if (marked) {
            in.mark(raw.length);
        }
        int n = in.read(raw, 0, raw.length);
        if (n < 0) {
            throw new EOFException("Pre-mature end of <CRLF>.<CRLF> terminated data");
        }
        for (int i = 0; i < n; i++) {
            if (step(raw[i])) {
                if (marked && i + 1 < n) {
                    // Give back what follows the final dot: the next commands of a pipelining client.
                    in.reset();
                    in.readNBytes(raw, 0, i + 1);
                }
                return;
            }
        }
    }

    /** Takes one raw byte; true when it was the LF of the final {@code .CRLF}. */
    private boolean step(byte c) {
        switch (state) {
            case FIRST_LINE_START, LINE_START -> {
                if (c == '.') {
                    dotOnFirstLine = state == State.FIRST_LINE_START;
                    state = State.DOT;
                } else {
                    data(c);
                }
            }
            case MIDDLE -> data(c);
            case AFTER_CR -> {
                out[outLen++] = c;
                state = c == '\n' ? State.LINE_START : c == '\r' ? State.AFTER_CR : State.MIDDLE;
            }
            case DOT -> {
                if (c == '\r') {
                    state = State.DOT_CR;
                } else {
                    heldDot();
                    data(c);
                }
            }
            case DOT_CR -> {
                if (c == '\n') {
                    state = State.DONE;
                    return true;
                }
                heldDot();
                out[outLen++] = '\r';
                state = State.AFTER_CR;
                step(c);
            }
            case DONE -> throw new IllegalStateException("read past the end of the body");
        }
        return false;
    }

    /** A byte inside a line. */
    private void data(byte c) {
        out[outLen++] = c;
        state = c == '\r' ? State.AFTER_CR : State.MIDDLE;
    }

    /** The dot that began a line and was not the final one: stuffing, except on the first line. */
    private void heldDot() {
        if (dotOnFirstLine) {
            out[outLen++] = '.';
        }
    }
}
