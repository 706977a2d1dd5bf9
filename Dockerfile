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
# The JVM options, each explained in the file: the same file the systemd unit uses.
COPY conf/jvm.options /etc/tlsrelay/jvm.options

# Inside a container the listener must bind all interfaces to be reachable; which clients may use
# it is still decided by listen.allowed-networks, which you must set (TLSRELAY_LISTEN_ALLOWED_NETWORKS).
ENV TLSRELAY_LISTEN_HOST=0.0.0.0 \
    TLSRELAY_AUDIT_FILE=/var/log/tlsrelay/tlsrelay-audit.jsonl \
    TLSRELAY_SPOOL_DIR=/var/spool/tlsrelay \
    TLSRELAY_ADMIN_PORT=2580

# An AOT cache for the relay (JDK 25, JEPs 483, 514, 515), made now by a training run of the image's
# own start: the classes it loads, parsed, verified and linked, and profiles of the methods it runs.
# Every container start maps it instead of doing that work again (about half the start-up time). It
# is only valid for this jar and this JDK; with anything else the JVM says so and runs without it.
# The training's audit and spool go to /tmp, so the image's volumes stay empty.
RUN <<'EOF'
#!/bin/bash
set -euo pipefail
mkdir -p /tmp/training
export TLSRELAY_AUDIT_FILE=/tmp/training/audit.jsonl TLSRELAY_SPOOL_DIR=/tmp/training/spool
java @/etc/tlsrelay/jvm.options -XX:AOTCacheOutput=/opt/tlsrelay/tlsrelay.aot -jar /opt/tlsrelay/tlsrelay.jar \
  run --config /etc/tlsrelay/tlsrelay.properties > /tmp/training/relay.log 2>&1 &
relay=$!
for _ in $(seq 600); do
  grep -q ' ready ' /tmp/training/relay.log && break
  kill -0 "$relay" && sleep 0.1 || break
done
grep -q ' ready ' /tmp/training/relay.log || { cat /tmp/training/relay.log; exit 1; }
# One client session, greeting to QUIT, as a device would open it.
exec 3<>/dev/tcp/127.0.0.1/2525
printf 'EHLO training.invalid\r\nNOOP\r\nQUIT\r\n' >&3
cat <&3 >/dev/null
kill -TERM "$relay"
wait "$relay" || [ $? = 143 ]   # 143: stopped by SIGTERM, as asked; the cache is written as the JVM exits
test -s /opt/tlsrelay/tlsrelay.aot || { cat /tmp/training/relay.log; exit 1; }
rm -rf /tmp/training
EOF

USER tlsrelay
WORKDIR /var/lib/tlsrelay
VOLUME ["/var/log/tlsrelay", "/var/spool/tlsrelay"]
EXPOSE 2525
# The admin endpoint stays on the container's loopback; the check runs inside the container.
HEALTHCHECK --interval=30s --timeout=10s --start-period=20s --retries=3 \
  CMD ["java", "-XX:AOTCache=/opt/tlsrelay/tlsrelay.aot", "-jar", "/opt/tlsrelay/tlsrelay.jar", "healthcheck", "--port", "2580"]
ENTRYPOINT ["java", "@/etc/tlsrelay/jvm.options", "-XX:AOTCache=/opt/tlsrelay/tlsrelay.aot", "-jar", "/opt/tlsrelay/tlsrelay.jar"]
CMD ["run", "--config", "/etc/tlsrelay/tlsrelay.properties"]
