package dev.tlsrelay.probe;

import dev.tlsrelay.cli.Main;
import dev.tlsrelay.support.ScriptedSmtpServer;
import dev.tlsrelay.support.ScriptedSmtpServer.Script;
import dev.tlsrelay.support.ScriptedSmtpServer.Tls;
import dev.tlsrelay.support.TestPki;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

@Timeout(60)
class ScratchTest {
    @TempDir Path dir;

    @Test
    void show() throws Exception {
        TestPki pki = new TestPki();
        String ca = pki.writeCa(dir).toString();
        try (ScriptedSmtpServer good = ScriptedSmtpServer.start(Script.startTls(new Tls.Modern(pki.good())));
             ScriptedSmtpServer legacy = ScriptedSmtpServer.start(Script.startTls(new Tls.LegacyOnly(pki.good())))) {
            System.out.println("EXIT " + Main.execute("probe", "127.0.0.1:" + good.port(), "--ca-file", ca));
            System.out.println("EXIT " + Main.execute("probe", "localhost:" + legacy.port(), "--ca-file", ca));
            System.out.println("EXIT " + Main.execute("probe", "127.0.0.1:" + legacy.port(), "--ca-file", ca, "--json"));
        }
    }
}
