#!/usr/bin/env bash
# Buying as a new customer would, against `make run` (default http://127.0.0.1:8000):
# sign up, find the demo tofu shop's products, buy, retry the same request (same order
# back), owner moves it to delivered, review it, reorder it. Exits non-zero on any
# unexpected answer.
#
#   make run                              # in another terminal
#   devtools/smoke_orders.sh [BASE_URL]   # or BASE=http://127.0.0.1:8000 devtools/smoke_orders.sh
set -euo pipefail

BASE="${1:-${BASE:-http://127.0.0.1:${PORT:-8000}}}"
OWNER_EMAIL="${OWNER_EMAIL:-tofu@dongne.kr}"
PASSWORD="${PASSWORD:-dongne1234}"
for tool in curl jq; do
  command -v "$tool" >/dev/null || { echo "smoke_orders.sh needs $tool" >&2; exit 2; }
done

BODY="$(mktemp)"; HEADERS="$(mktemp)"
trap 'rm -f "$BODY" "$HEADERS"' EXIT

# req EXPECTED_STATUS METHOD PATH [TOKEN] [JSON] [extra curl args...]; the body is left in $BODY.
req() {
  local expect="$1" method="$2" path="$3" token="${4:-}" data="${5:-}"
  shift 5 || shift $#
  local args=(-sS -o "$BODY" -D "$HEADERS" -w '%{http_code}' -X "$method" "$BASE$path"
              -H 'Content-Type: application/json')
  [[ -n "$token" ]] && args+=(-H "Authorization: Bearer $token")
  [[ -n "$data" ]] && args+=(--data-binary "$data")
  local status
  status="$(curl "${args[@]}" "$@")"
  if [[ "$status" != "$expect" ]]; then
    echo "FAIL: $method $path -> $status (expected $expect)" >&2
    cat "$BODY" >&2; echo >&2
    exit 1
  fi
  printf '  %-6s %-40s %s\n' "$method" "$path" "$status"
}
json() { jq -r "$1" "$BODY"; }
new_key() { cat /proc/sys/kernel/random/uuid 2>/dev/null || python3 -c 'import uuid; print(uuid.uuid4())'; }

echo "Dongne order smoke test against $BASE"
req 200 GET /health

echo "1. a new customer signs up"
EMAIL="smoke-$(date +%s)-$RANDOM@example.kr"
req 201 POST /auth/signup "" "{\"name\": \"동네 새손님\", \"email\": \"$EMAIL\", \"password\": \"smoke-pass-123\"}"
CUSTOMER="$(json .token)"

echo "2. the tofu shop and its products (the shop id would come from the feed)"
req 200 POST /auth/login "" "{\"email\": \"$OWNER_EMAIL\", \"password\": \"$PASSWORD\"}"
OWNER="$(json .token)"; SHOP="$(json .user.shop_id)"
req 200 GET "/shops/$SHOP/products?limit=50"
TOFU="$(json '[.items[] | select(.name | startswith("손두부"))][0].product_id')"
PRICE="$(json '[.items[] | select(.name | startswith("손두부"))][0].price')"
STOCK_BEFORE="$(json '[.items[] | select(.name | startswith("손두부"))][0].stock')"
[[ "$TOFU" != "null" ]] || { echo "FAIL: no 손두부 in the demo shop" >&2; exit 1; }
echo "     손두부 $TOFU: ${PRICE}원, $STOCK_BEFORE left"

echo "3. buy two (a client-sent price is ignored)"
KEY="$(new_key)"
ORDER_BODY="{\"shop_id\": \"$SHOP\", \"items\": [{\"product_id\": \"$TOFU\", \"quantity\": 2, \"price\": 1}]}"
req 201 POST /orders "$CUSTOMER" "$ORDER_BODY" -H "Idempotency-Key: $KEY"
ORDER="$(json .order_id)"; FIRST="$(jq -cS . "$BODY")"
[[ "$(json .total)" == "$((PRICE * 2))" ]] || { echo "FAIL: total $(json .total) != $((PRICE * 2))" >&2; exit 1; }
echo "     order $ORDER: $(json .status), total $(json .total)원"

echo "4. the app retries the same request (lost connection): the same order comes back"
req 201 POST /orders "$CUSTOMER" "$ORDER_BODY" -H "Idempotency-Key: $KEY"
[[ "$(jq -cS . "$BODY")" == "$FIRST" ]] || { echo "FAIL: the retry answered another body" >&2; exit 1; }
grep -qi '^idempotent-replayed: true' "$HEADERS" || { echo "FAIL: no Idempotent-Replayed header" >&2; exit 1; }
req 200 GET "/products/$TOFU"
[[ "$(json .stock)" == "$((STOCK_BEFORE - 2))" ]] || { echo "FAIL: stock $(json .stock), sold twice?" >&2; exit 1; }
echo "     same order, stock went down once: $(json .stock) left"
req 409 POST /orders "$CUSTOMER" "{\"shop_id\": \"$SHOP\", \"items\": [{\"product_id\": \"$TOFU\", \"quantity\": 5}]}" \
    -H "Idempotency-Key: $KEY"
echo "     the same key with another body: $(json .detail)"

echo "5. the owner takes payment, ships, delivers"
for status in paid shipped delivered; do
  req 200 POST "/orders/$ORDER/status" "$OWNER" "{\"status\": \"$status\"}"
done
echo "     history: $(json '[.history[].status] | join(" → ")')"

echo "6. the customer reviews it"
req 201 POST "/orders/$ORDER/review" "$CUSTOMER" '{"rating": 5, "text": "갓 만든 두부라 고소해요!"}'
req 200 GET "/products/$TOFU/reviews?limit=1"
echo "     손두부: $(json .rating_count) reviews, average $(json .rating_average)"

echo "7. one tap: the same again, at today's price"
req 201 POST "/orders/$ORDER/reorder" "$CUSTOMER" "" -H "Idempotency-Key: $(new_key)"
[[ "$(json .reorder_of)" == "$ORDER" ]] || { echo "FAIL: reorder_of is $(json .reorder_of)" >&2; exit 1; }
echo "     new order $(json .order_id): $(json .status), total $(json .total)원"
req 200 GET "/me/orders" "$CUSTOMER"
echo "     my orders: $(json '[.items[] | "\(.order_id[-6:]) \(.status)"] | join(", ")')"

echo "OK: bought, retried safely, delivered, reviewed and reordered."
