package dev.tlsrelay.delivery;

import java.util.Optional;

/**
 * Who a transaction comes from.
 *
 * @param sessionId the inbound session id (shared with the audit events of this session)
 * @param clientAddress the client's IP address
 * @param helo what the client said in HELO/EHLO, sanitised
 * @param tls the client's session is protected by STARTTLS
 * @param authUser the user the client authenticated as, if it did
 */
public record ClientSession(String sessionId, String clientAddress, String helo, boolean tls,
        Optional<String> authUser) {

    /** A plain, unauthenticated session (what most legacy devices have). */
    public ClientSession(String sessionId, String clientAddress, String helo) {
        this(sessionId, clientAddress, helo, false, Optional.empty());
    }

    /** The RFC 3848 "with" keyword of the trace header: ESMTP, ESMTPA, ESMTPS or ESMTPSA. */
    public String protocol() {
        return "ESMTP" + (tls ? "S" : "") + (authUser.isPresent() ? "A" : "");
    }
}
