package dev.tlsrelay.route;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tlsrelay.upstream.SmtpReply;
import java.util.Set;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** Every entry of the table, with the reply text as providers send it, and replies that are not throttling. */
@Timeout(10)
class ThrottleRepliesTest {

    @ParameterizedTest(name = "{0} {1} -> {2} ({3})")
    @CsvSource(delimiter = '|', value = {
        "454 | Throttling failure: Maximum sending rate exceeded.               | RATE        | amazon-ses",
        "454 | Throttling failure: Daily message quota exceeded.               | QUOTA       | amazon-ses",
        "432 | 4.3.2 STOREDRV.ClientSubmit; sender thread limit exceeded        | CONCURRENCY | microsoft365",
        "432 | 4.3.2 concurrent connection limit exceeded                      | CONCURRENCY | microsoft365",
        "554 | 5.2.0 STOREDRV.Submission.Exception:SubmissionQuotaExceededException; Failed to process message | QUOTA | microsoft365",
        "421 | 4.7.28 Our system has detected an unusual rate of unsolicited mail | RATE      | gmail",
        "550 | 5.4.5 Daily user sending quota exceeded.                        | QUOTA       | gmail",
        "550 | 5.4.5 Daily SMTP relay limit exceeded for user.                 | QUOTA       | gmail",
        "450 | 4.2.1 Peak SMTP relay limit exceeded for customer               | RATE        | gmail",
        "421 | 4.7.0 Try again later, closing connection.                      | TRY_LATER   | gmail",
        "421 | 4.3.2 Service shutting down                                     | TRY_LATER   | any",
    })
    void recognised(int code, String text, ThrottleReplies.Kind kind, String provider) {
        ThrottleReplies.Entry e = ThrottleReplies.classify(new SmtpReply(code, text.strip())).orElseThrow();
        assertEquals(kind, e.kind());
        assertEquals(provider, e.provider());
    }

    @ParameterizedTest(name = "{0} {1} is not throttling")
    @CsvSource(delimiter = '|', value = {
        "250 | 2.0.0 Ok",
        "550 | 5.1.1 <nobody@office.test>: no such user",
        "452 | 4.2.2 mailbox full",
        "454 | 4.7.0 TLS not available due to local problem",
        "451 | 4.3.0 Try again later",
        "554 | 5.7.1 Message rejected as spam",
    })
    void notThrottling(int code, String text) {
        assertTrue(ThrottleReplies.classify(new SmtpReply(code, text.strip())).isEmpty());
    }

    @Test
    void everyEntryIsCoveredByATestAbove() {
        Set<String> providers = ThrottleReplies.TABLE.stream().map(ThrottleReplies.Entry::provider)
                .collect(Collectors.toSet());
        assertEquals(Set.of("amazon-ses", "microsoft365", "gmail", "any"), providers);
        assertEquals(9, ThrottleReplies.TABLE.size(), "a new entry needs a line in recognised()");
    }
}
