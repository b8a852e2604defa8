#!/bin/bash
# The example image's entry point: "fpm" runs php-fpm, "web" runs nginx, each in the foreground
# as the container's main process (exec: signals reach it directly); "health" checks whichever
# of them this container runs.
set -euo pipefail

health_web() {
	# bash's own /dev/tcp: the image needs no HTTP client for its health check
	exec 3<>/dev/tcp/127.0.0.1/8080
	printf 'GET /health HTTP/1.0\r\nHost: localhost\r\n\r\n' >&3
	read -r _ status _ <&3
	[ "$status" = 200 ]
}

health_fpm() {
	SCRIPT_NAME=/fpm-ping SCRIPT_FILENAME=/fpm-ping REQUEST_METHOD=GET \
		cgi-fcgi -bind -connect 127.0.0.1:9000 | grep -q pong
}

case "${1:-fpm}" in
fpm)
	mkdir -p /run/php
	exec php-fpm8.2 --nodaemonize --force-stderr
	;;
web) exec nginx -g 'daemon off;' ;;
health)
	if [ -e /run/nginx.pid ]; then health_web; else health_fpm; fi
	;;
*) exec "$@" ;;
esac
