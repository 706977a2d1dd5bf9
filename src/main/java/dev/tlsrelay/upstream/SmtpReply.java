package dev.tlsrelay.upstream;

/**
 * One SMTP reply: code and text (multi-line replies joined with spaces, CR/LF never included, so
 * it can be passed to a client verbatim without letting a server inject lines).
 */
public record SmtpReply(int code, String text) {

    public SmtpReply {
        if (code < 200 || code > 599) {
            throw new IllegalArgumentException("not an SMTP reply code: " + code);
        }
        text = text == null ? "" : text.replaceAll("[\\r\\n]+", " ").strip();
    }

    /** Parses a reply as Angus reports it ("250 2.0.0 Ok: queued as X", possibly multi-line). */
    static SmtpReply parse(int code, String raw) {
        String t = raw == null ? "" : raw;
        // Strip the code (and separators) from every line, keep the words.
        String text = t.replaceAll("(?m)^\\d{3}[ -]?", "").replaceAll("[\\r\\n]+", " ");
        return new SmtpReply(code, text);
    }

    public boolean isPositive() {
        return code < 400;
    }

    public boolean isTransient() {
        return code >= 400 && code < 500;
    }

    public boolean isPermanent() {
        return code >= 500;
    }

    /** The reply line, e.g. {@code 250 2.0.0 Ok}. */
    public String line() {
        return code + " " + text;
    }

    @Override
    public String toString() {
        return line();
    }
}
