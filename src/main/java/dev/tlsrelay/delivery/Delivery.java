package dev.tlsrelay.delivery;

/** Turns client transactions into upstream deliveries. */
public interface Delivery {

    /** Starts a transaction for a client session. */
    Transaction begin(ClientSession client);
}
