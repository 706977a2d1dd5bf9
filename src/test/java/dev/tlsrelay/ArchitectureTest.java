package dev.tlsrelay;

import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.noClasses;

import com.tngtech.archunit.core.domain.JavaClasses;
import com.tngtech.archunit.core.importer.ClassFileImporter;
import com.tngtech.archunit.core.importer.ImportOption;
import org.junit.jupiter.api.Test;

/** Each third-party API stays in one room, and the TLS core depends on nothing of ours. */
class ArchitectureTest {

    private static final JavaClasses MAIN = new ClassFileImporter()
            .withImportOption(ImportOption.Predefined.DO_NOT_INCLUDE_TESTS)
            .importPackages("dev.tlsrelay");

    @Test
    void theRulesSeeTheWholeCode() {
        // A rule over an empty import passes vacuously: make sure the classes are really there.
        org.junit.jupiter.api.Assertions.assertTrue(MAIN.size() > 100, "imported " + MAIN.size() + " classes");
        org.junit.jupiter.api.Assertions.assertTrue(MAIN.containPackage("dev.tlsrelay.upstream"));
        org.junit.jupiter.api.Assertions.assertTrue(MAIN.containPackage("dev.tlsrelay.tls"));
    }

    @Test
    void onlyUpstreamUsesJakartaMail() {
        noClasses().that().resideOutsideOfPackage("dev.tlsrelay.upstream..")
                .should().dependOnClassesThat().resideInAnyPackage("jakarta.mail..", "org.eclipse.angus..")
                .check(MAIN);
    }

    @Test
    void onlyConfigUsesCommonsConfiguration() {
        noClasses().that().resideOutsideOfPackage("dev.tlsrelay.config..")
                .should().dependOnClassesThat().resideInAnyPackage("org.apache.commons.configuration2..")
                .check(MAIN);
    }

    @Test
    void onlyTlsUsesBouncyCastle() {
        noClasses().that().resideOutsideOfPackage("dev.tlsrelay.tls..")
                .should().dependOnClassesThat().resideInAnyPackage("org.bouncycastle..")
                .check(MAIN);
    }

    @Test
    void onlyTheProbeUsesDnsjava() {
        // DNS is asked only by probe --domain (MX, MTA-STS, TLS-RPT); the relay itself resolves nothing.
        noClasses().that().resideOutsideOfPackage("dev.tlsrelay.probe..")
                .should().dependOnClassesThat().resideInAnyPackage("org.xbill..")
                .check(MAIN);
    }

    @Test
    void onlyTheSmtpServersUseSubEthaSmtp() {
        noClasses().that().resideOutsideOfPackages("dev.tlsrelay.inbound..", "dev.tlsrelay.catcher..",
                        "dev.tlsrelay.demo..")
                .should().dependOnClassesThat().resideInAnyPackage("org.subethamail..")
                .check(MAIN);
    }

    @Test
    void tlsDependsOnNothingOfOurs() {
        noClasses().that().resideInAPackage("dev.tlsrelay.tls..")
                .should().dependOnClassesThat().resideInAnyPackage("dev.tlsrelay.config..", "dev.tlsrelay.upstream..",
                        "dev.tlsrelay.inbound..", "dev.tlsrelay.delivery..", "dev.tlsrelay.audit..",
                        "dev.tlsrelay.cli..")
                .check(MAIN);
    }

    @Test
    void theTokenMachineryKnowsNothingOfMail() {
        // upstream asks oauth for tokens; oauth only speaks HTTPS (through tls) and reads its settings.
        noClasses().that().resideInAPackage("dev.tlsrelay.oauth..")
                .should().dependOnClassesThat().resideInAnyPackage("dev.tlsrelay.upstream..",
                        "dev.tlsrelay.delivery..", "dev.tlsrelay.inbound..", "dev.tlsrelay.cli..", "dev.tlsrelay.audit..")
                .check(MAIN);
    }

    @Test
    void layersPointOneWay() {
        noClasses().that().resideInAnyPackage("dev.tlsrelay.upstream..", "dev.tlsrelay.delivery..")
                .should().dependOnClassesThat().resideInAnyPackage("dev.tlsrelay.inbound..", "dev.tlsrelay.cli..")
                .check(MAIN);
        noClasses().that().resideInAPackage("dev.tlsrelay.upstream..")
                .should().dependOnClassesThat().resideInAPackage("dev.tlsrelay.delivery..")
                .check(MAIN);
    }
}
