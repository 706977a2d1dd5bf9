package dev.tlsrelay.delivery;

/**
 * Who a transaction comes from.
 *
 * @param sessionId the inbound session id (shared with the audit events of this session)
 * @param clientAddress the client's IP address
 * @param helo what the client said in HELO/EHLO, sanitised
 */
public record ClientSession(String sessionId, String clientAddress, String helo) {}
