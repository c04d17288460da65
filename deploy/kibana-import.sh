#!/bin/sh
# The compose `dashboards` service: Kibana's saved objects (data view, searches, dashboard). Optional: no worker
# waits for it. Every step is idempotent, so `docker compose up -d dashboards` repeats it at any time.
#   1. wait for Kibana to answer /api/status (up to KIBANA_WAIT_S seconds),
#   2. import every $SAVED_OBJECTS_DIR/*.ndjson through the Saved Objects API (overwrite=true), each retried,
#   3. make the newsflow-articles data view the default one (best effort).
# Exits 1 when Kibana refuses an object or never answers: Docker restarts it (restart: on-failure).
# With KIBANA_USER/KIBANA_PASSWORD set (the secure overlay) every call authenticates.
set -eu

KIBANA_URL=${KIBANA_URL:-http://kibana:5601}
SAVED_OBJECTS_DIR=${SAVED_OBJECTS_DIR:-/etc/newsflow/kibana}
KIBANA_WAIT_S=${KIBANA_WAIT_S:-300}
ATTEMPTS=${ATTEMPTS:-10}
RETRY_DELAY_S=${RETRY_DELAY_S:-3}

kibana() {
  # curl with the credentials when there are some; the password never appears on a command line in `ps`.
  if [ -n "${KIBANA_USER:-}" ]; then
    printf 'user = "%s:%s"\n' "$KIBANA_USER" "${KIBANA_PASSWORD:-}" | curl --config - "$@"
  else
    curl "$@"
  fi
}

waited=0
until kibana -fsS -o /dev/null "$KIBANA_URL/api/status"; do
  if [ "$waited" -ge "$KIBANA_WAIT_S" ]; then
    echo "dashboards: Kibana at $KIBANA_URL did not answer for ${KIBANA_WAIT_S}s" >&2
    exit 1
  fi
  sleep "$RETRY_DELAY_S"
  waited=$((waited + RETRY_DELAY_S))
done

found=0
for file in "$SAVED_OBJECTS_DIR"/*.ndjson; do
  [ -e "$file" ] || break
  found=1
  n=0
  while :; do
    n=$((n + 1))
    answer=$(kibana -sS -X POST "$KIBANA_URL/api/saved_objects/_import?overwrite=true" \
      -H "kbn-xsrf: true" --form "file=@$file" || true)
    if printf '%s' "$answer" | grep -Eq '"success"[[:space:]]*:[[:space:]]*true'; then
      echo "dashboards: imported $(basename "$file") into Kibana"
      break
    fi
    if [ "$n" -ge "$ATTEMPTS" ]; then
      echo "dashboards: Kibana refused $(basename "$file") $n times: $answer" >&2
      exit 1
    fi
    sleep "$RETRY_DELAY_S"
  done
done
if [ "$found" = 0 ]; then
  echo "dashboards: no saved objects in $SAVED_OBJECTS_DIR" >&2
  exit 1
fi

if kibana -fsS -o /dev/null -X POST "$KIBANA_URL/api/data_views/default" \
    -H "kbn-xsrf: true" -H "Content-Type: application/json" \
    -d '{"data_view_id": "newsflow-articles", "force": true}'; then
  echo "dashboards: newsflow-articles is Kibana's default data view"
else
  echo "dashboards: could not make newsflow-articles the default data view (not needed to use it)" >&2
fi
echo "dashboards: done"
