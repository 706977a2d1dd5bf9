package dev.tlsrelay.spool;

import java.io.IOException;
import java.nio.file.Path;

/** Another running relay owns this spool directory; two relays must never deliver the same queue. */
public final class SpoolInUseException extends IOException {

    public SpoolInUseException(Path dir) {
        super("spool.dir " + dir + " is in use by another running tlsrelay: stop it, or give this one its own"
                + " spool.dir");
    }
}
