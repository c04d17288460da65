#!/bin/sh
# The secure overlay's `es-users` service (docker-compose.secure.yml): with security on, set the kibana_system
# password and create the role and user the Newsflow workers use. Idempotent (PUT/POST upserts), so it runs at
# every `up`. Passwords come from the environment and go to curl on stdin, never on a command line.
set -eu

ES_URL=${ES_URL:-http://elasticsearch:9200}
PREFIXES=${NEWSFLOW_ES_PREFIXES:-newsflow-*}

es() {
  method=$1 path=$2 body=$3
  printf 'user = "elastic:%s"\n' "$ELASTIC_PASSWORD" | curl --config - -fsS -o /dev/null \
    -X "$method" "$ES_URL$path" -H "Content-Type: application/json" -d "$body"
}

es POST /_security/user/kibana_system/_password "{\"password\": \"$KIBANA_SYSTEM_PASSWORD\"}"
echo "es-users: kibana_system password set"

# What the workers and `newsflow init` do: index templates, indices and aliases under the prefixes, documents.
es PUT /_security/role/newsflow "{
  \"cluster\": [\"monitor\", \"manage_index_templates\"],
  \"indices\": [{\"names\": [\"$PREFIXES\"], \"privileges\": [\"all\"]}]
}"
es PUT /_security/user/newsflow "{\"password\": \"$NEWSFLOW_ES_PASSWORD\", \"roles\": [\"newsflow\"]}"
echo "es-users: role and user newsflow ready (indices $PREFIXES)"
