#!/bin/sh
# Starts Mosquitto in docker-compose.yml (image eclipse-mosquitto 2). Runs as root, as the
# image's entrypoint leaves it; Mosquitto itself drops to its user "mosquitto".
#
# - The password file lives in the volume mosquitto-passwd. The service's user and password
#   (MQTT_USERNAME, MQTT_PASSWORD) and the simulators' (SIMULATOR_MQTT_PASSWORD, optional: without
#   it the user is removed) are set from the environment at every start; devices' are added with
#   mosquitto_passwd and kept (docs/deploy.md).
# - The ACL is mounted read-only from the repository; Mosquitto wants its files readable by its
#   own user alone (2.1 refuses others), so it gets a private copy.
set -eu

PASSWD=/mosquitto/passwd/passwd
RUN=/mosquitto/run
SERVICE_USER="${MQTT_USERNAME:-estate-sentinel}"

if [ -z "${MQTT_PASSWORD:-}" ]; then
  echo "mosquitto: MQTT_PASSWORD is not set: put it in .env next to docker-compose.yml (docs/deploy.md)" >&2
  exit 2
fi

mkdir -p /mosquitto/passwd "$RUN"
[ -f "$PASSWD" ] || : > "$PASSWD"
mosquitto_passwd -b "$PASSWD" "$SERVICE_USER" "$MQTT_PASSWORD"
if [ -n "${SIMULATOR_MQTT_PASSWORD:-}" ]; then
  mosquitto_passwd -b "$PASSWD" simulator "$SIMULATOR_MQTT_PASSWORD"
elif grep -q '^simulator:' "$PASSWD"; then
  mosquitto_passwd -D "$PASSWD" simulator
fi

cp /mosquitto/config/acl "$RUN/acl"
chown -R mosquitto:mosquitto /mosquitto/passwd "$RUN" /mosquitto/data
chmod 0700 /mosquitto/passwd "$RUN"
chmod 0600 "$PASSWD" "$RUN/acl"

exec /usr/sbin/mosquitto -c /mosquitto/config/mosquitto.conf
