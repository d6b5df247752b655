#!/bin/sh
# Fill this deployment's broker passwords (from .env) into the definitions RabbitMQ loads at boot
# (deploy/rabbitmq.conf: load_definitions), then start RabbitMQ as the image would. The rendered
# file stays inside the container, readable by the rabbitmq user only.
set -eu
rendered=/tmp/kapbook-definitions.json
umask 077
sed -e "s|@RABBITMQ_BOOKING_PASSWORD@|${RABBITMQ_BOOKING_PASSWORD:?}|" \
    -e "s|@RABBITMQ_ELIGIBILITY_PASSWORD@|${RABBITMQ_ELIGIBILITY_PASSWORD:?}|" \
    -e "s|@RABBITMQ_REMINDERS_PASSWORD@|${RABBITMQ_REMINDERS_PASSWORD:?}|" \
    /etc/kapbook/rabbitmq-definitions.json > "$rendered"
if [ "$(id -u)" = 0 ]; then chown rabbitmq:rabbitmq "$rendered"; fi
exec docker-entrypoint.sh rabbitmq-server
