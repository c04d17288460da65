#!/bin/sh
# One-shot setup of the compose stack (the `init` service). Every step is idempotent, so
# `docker compose run --rm init` can repeat it at any time.
#   1. `newsflow init`: Kafka topics, the Elasticsearch index template, the first index and its write alias.
#   2. Kibana: import every deploy/kibana/*.ndjson through the Saved Objects API (overwrite=true), then make
#      the newsflow-articles data view the default one.
set -eu

KIBANA_URL=${KIBANA_URL:-http://kibana:5601}
SAVED_OBJECTS_DIR=${SAVED_OBJECTS_DIR:-/etc/newsflow/kibana}

echo "init: topics, index template and write alias"
newsflow init

for file in "$SAVED_OBJECTS_DIR"/*.ndjson; do
  [ -e "$file" ] || { echo "init: no saved objects in $SAVED_OBJECTS_DIR" >&2; exit 1; }
  answer=$(curl -sS --retry 10 --retry-delay 3 --retry-all-errors \
    -X POST "$KIBANA_URL/api/saved_objects/_import?overwrite=true" \
    -H "kbn-xsrf: true" --form "file=@$file")
  if printf '%s' "$answer" | grep -Eq '"success"[[:space:]]*:[[:space:]]*true'; then
    echo "init: imported $(basename "$file") into Kibana"
  else
    echo "init: Kibana refused $(basename "$file"): $answer" >&2
    exit 1
  fi
done

if curl -fsS -o /dev/null -X POST "$KIBANA_URL/api/data_views/default" \
    -H "kbn-xsrf: true" -H "Content-Type: application/json" \
    -d '{"data_view_id": "newsflow-articles", "force": true}'; then
  echo "init: newsflow-articles is Kibana's default data view"
else
  echo "init: could not make newsflow-articles the default data view (not needed to use it)" >&2
fi
echo "init: done"
