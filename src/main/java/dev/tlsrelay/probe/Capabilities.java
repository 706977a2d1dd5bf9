package dev.tlsrelay.probe;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.OptionalLong;

/**
 * What a server's EHLO reply offers: one extension per line (the greeting line is not one).
 *
 * @param extensions the extension lines as sent, e.g. {@code SIZE 35882577}, {@code AUTH PLAIN LOGIN}
 */
public record Capabilities(List<String> extensions) {

    public Capabilities {
        extensions = List.copyOf(extensions);
    }

    /** From an EHLO reply's lines (the first line is the server's name and greeting). */
    static Capabilities fromEhlo(List<String> lines) {
        List<String> ext = new ArrayList<>();
        for (int i = 1; i < lines.size(); i++) {
            String l = SmtpConversation.printable(lines.get(i).strip());
            if (!l.isEmpty()) {
                ext.add(l);
            }
        }
        return new Capabilities(ext);
    }

    /** Whether the extension keyword is offered (case-insensitive). */
    public boolean has(String keyword) {
        return line(keyword) != null;
    }

    public boolean startTls() {
        return has("STARTTLS");
    }

    public boolean pipelining() {
        return has("PIPELINING");
    }

    public boolean smtpUtf8() {
        return has("SMTPUTF8");
    }

    public boolean eightBitMime() {
        return has("8BITMIME");
    }

    /** AUTH mechanisms offered, upper case; empty if AUTH is not offered. */
    public List<String> authMechanisms() {
        String l = line("AUTH");
        if (l == null) {
            return List.of();
        }
        String rest = l.length() > 4 ? l.substring(5) : "";
        List<String> out = new ArrayList<>();
        for (String m : rest.replace('=', ' ').trim().split("\\s+")) {
            if (!m.isEmpty() && !out.contains(m.toUpperCase(Locale.ROOT))) {
                out.add(m.toUpperCase(Locale.ROOT));
            }
        }
        return out;
    }

    /** The SIZE limit in bytes, if one is announced (a bare {@code SIZE} or {@code SIZE 0} means none). */
    public OptionalLong sizeLimit() {
        String l = line("SIZE");
        if (l == null || l.length() <= 5) {
            return OptionalLong.empty();
        }
        try {
            long v = Long.parseLong(l.substring(5).trim());
            return v > 0 ? OptionalLong.of(v) : OptionalLong.empty();
        } catch (NumberFormatException e) {
            return OptionalLong.empty();
        }
    }

    private String line(String keyword) {
        for (String e : extensions) {
            String upper = e.toUpperCase(Locale.ROOT);
            if (upper.equals(keyword) || upper.startsWith(keyword + " ")) {
                return e;
            }
        }
        // "AUTH=LOGIN" is an old spelling some servers still send (next to, or instead of, "AUTH LOGIN").
        for (String e : extensions) {
            if (keyword.equals("AUTH") && e.toUpperCase(Locale.ROOT).startsWith("AUTH=")) {
                return e;
            }
        }
        return null;
    }
}
