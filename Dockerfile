# syntax=docker/dockerfile:1
# Build: docker build -t tlsrelay .
# Run:   see "Docker" in README.md.

FROM maven:3.9-eclipse-temurin-25 AS build
WORKDIR /src
COPY pom.xml .
RUN mvn -B -ntp -q dependency:go-offline
COPY src src
RUN mvn -B -ntp -q package -DskipTests

FROM eclipse-temurin:25-jre
RUN groupadd --system tlsrelay \
 && useradd --system --gid tlsrelay --home-dir /var/lib/tlsrelay --shell /usr/sbin/nologin tlsrelay \
 && mkdir -p /opt/tlsrelay /etc/tlsrelay /var/lib/tlsrelay /var/log/tlsrelay /var/spool/tlsrelay \
 && chown tlsrelay:tlsrelay /var/lib/tlsrelay /var/log/tlsrelay /var/spool/tlsrelay
COPY --from=build /src/target/tlsrelay.jar /opt/tlsrelay/tlsrelay.jar
COPY conf/tlsrelay.properties /etc/tlsrelay/tlsrelay.properties

# Inside a container the listener must bind all interfaces to be reachable; which clients may use
# it is still decided by listen.allowed-networks, which you must set (TLSRELAY_LISTEN_ALLOWED_NETWORKS).
ENV TLSRELAY_LISTEN_HOST=0.0.0.0 \
    TLSRELAY_AUDIT_FILE=/var/log/tlsrelay/tlsrelay-audit.jsonl \
    TLSRELAY_SPOOL_DIR=/var/spool/tlsrelay \
    TLSRELAY_ADMIN_PORT=2580

USER tlsrelay
WORKDIR /var/lib/tlsrelay
VOLUME ["/var/log/tlsrelay", "/var/spool/tlsrelay"]
EXPOSE 2525
# The admin endpoint stays on the container's loopback; the check runs inside the container.
HEALTHCHECK --interval=30s --timeout=10s --start-period=20s --retries=3 \
  CMD ["java", "-jar", "/opt/tlsrelay/tlsrelay.jar", "healthcheck", "--port", "2580"]
ENTRYPOINT ["java", "-jar", "/opt/tlsrelay/tlsrelay.jar"]
CMD ["run", "--config", "/etc/tlsrelay/tlsrelay.properties"]
