package dev.tlsrelay.support;

import jakarta.mail.MessagingException;
import java.util.HashSet;
import java.util.Set;
import org.eclipse.angus.mail.smtp.SMTPAddressFailedException;
import org.eclipse.angus.mail.smtp.SMTPSendFailedException;
import org.eclipse.angus.mail.smtp.SMTPSenderFailedException;

/**
 * The reply with which the relay refused a {@link LegacyClient} transaction, dug out of the
 * exception Angus threw. Angus chains its exceptions through {@code getNextException()} as well as
 * {@code getCause()}, so both links are followed.
 *
 * @param code the relay's reply code
 * @param text the reply as Angus reports it (code and text)
 */
public record SmtpRefusal(int code, String text) {

    /** The first SMTP reply found in the exception chain. */
    public static SmtpRefusal of(MessagingException thrown) {
        Set<Throwable> seen = new HashSet<>();
        Throwable t = thrown;
        while (t != null && seen.add(t)) {
            if (t instanceof SMTPSendFailedException e) {
                return new SmtpRefusal(e.getReturnCode(), e.getMessage());
            }
            if (t instanceof SMTPSenderFailedException e) {
                return new SmtpRefusal(e.getReturnCode(), e.getMessage());
            }
            if (t instanceof SMTPAddressFailedException e) {
                return new SmtpRefusal(e.getReturnCode(), e.getMessage());
            }
            t = t instanceof MessagingException m && m.getNextException() != null ? m.getNextException()
                    : t.getCause();
        }
        throw new AssertionError("no SMTP reply in the exception chain (the relay never answered?)", thrown);
    }

    @Override
    public String toString() {
        return code + " / " + text;
    }
}
