#!/usr/bin/env bash
# The social core tried as a new user would, against a running `make run`:
# a customer follows a demo shop; the shop uploads a photo through the presigned form
# and posts it; the post reaches the customer's feed within 3 s; unfollow and it is gone;
# follow again, delete the post, and it leaves every feed.
#
#   devtools/smoke_social.sh [BASE_URL]        (default http://127.0.0.1:8000)
#
# Needs bash, curl and python3 (for JSON). Exits non-zero at the first failed step.
set -euo pipefail

BASE="${1:-${BASE:-http://127.0.0.1:8000}}"
PASSWORD="dongne1234"
OWNER_EMAIL="tofu@dongne.kr"
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT

say() { printf '\n== %s\n' "$*"; }
fail() { printf 'FAIL: %s\n' "$*" >&2; exit 1; }
# json FILTER < body: evaluate a Python expression on the parsed body `j`.
json() { python3 -c "import json,sys; j=json.load(sys.stdin); print($1)"; }

# call METHOD PATH [TOKEN] [JSON]: prints the body; the status goes to $WORK/status.
call() {
  local method="$1" path="$2" token="${3:-}" body="${4:-}"
  local args=(-s -o "$WORK/body" -w '%{http_code}' -X "$method" "$BASE$path")
  [[ -n "$token" ]] && args+=(-H "Authorization: Bearer $token")
  [[ -n "$body" ]] && args+=(-H 'Content-Type: application/json' --data-binary "$body")
  curl "${args[@]}" > "$WORK/status"
  cat "$WORK/body"
}
expect() {  # expect STATUS WHAT
  local got; got="$(cat "$WORK/status")"
  [[ "$got" == "$1" ]] || fail "$2: HTTP $got (wanted $1): $(cat "$WORK/body")"
  printf '   %s -> %s\n' "$2" "$got"
}
feed_has() {  # feed_has TOKEN POST_ID -> prints True/False
  call GET "/feed?limit=100" "$1" | json "any(i['post_id'] == '$2' for i in j['items'])"
}
wait_feed() {  # wait_feed TOKEN POST_ID True|False SECONDS
  local deadline=$((SECONDS + $4)) started="$EPOCHREALTIME"
  while (( SECONDS <= deadline )); do
    if [[ "$(feed_has "$1" "$2")" == "$3" ]]; then
      printf '   feed shows it=%s after %s s\n' "$3" "$(python3 -c "print(f'{$EPOCHREALTIME - $started:.2f}')")"
      return 0
    fi
    sleep 0.2
  done
  fail "post $2 in the feed should be $3 within $4 s"
}

say "health"
call GET /health >/dev/null; expect 200 "GET /health"

say "a new customer signs up; the demo tofu shop's owner logs in"
EMAIL="smoke-$(date +%s%N)@example.kr"
CUSTOMER="$(call POST /auth/signup "" "{\"name\": \"동네주민\", \"email\": \"$EMAIL\", \"password\": \"secret-pass-1\"}" | json "j['token']")"
expect 201 "POST /auth/signup"
OWNER="$(call POST /auth/login "" "{\"email\": \"$OWNER_EMAIL\", \"password\": \"$PASSWORD\"}" | json "j['token']")"
expect 200 "POST /auth/login (owner)"
SHOP="$(call GET /me "$OWNER" | json "j['shop_id']")"
expect 200 "GET /me (owner) -> shop $SHOP"
FOLLOWERS_BEFORE="$(call GET "/shops/$SHOP" | json "j['follower_count']")"

say "the customer follows the shop (twice: idempotent)"
call PUT "/shops/$SHOP/follow" "$CUSTOMER" >/dev/null; expect 200 "PUT /shops/{id}/follow"
call PUT "/shops/$SHOP/follow" "$CUSTOMER" >/dev/null; expect 200 "PUT /shops/{id}/follow again"
FOLLOWERS="$(call GET "/shops/$SHOP" | json "j['follower_count']")"
[[ "$FOLLOWERS" == "$((FOLLOWERS_BEFORE + 1))" ]] || fail "follower_count $FOLLOWERS, wanted $((FOLLOWERS_BEFORE + 1))"
echo "   follower_count $FOLLOWERS_BEFORE -> $FOLLOWERS"

say "the owner uploads a photo through the presigned form (curl -F)"
call POST /uploads "$OWNER" '{"content_type": "image/jpeg"}' > "$WORK/form.json"; expect 201 "POST /uploads"
python3 -c "import sys; sys.stdout.buffer.write(b'\xff\xd8\xff\xe0' + bytes(range(256)) * 40 + b'\xff\xd9')" > "$WORK/photo.jpg"
URL="$(json "j['upload_url']" < "$WORK/form.json")"
KEY="$(json "j['key']" < "$WORK/form.json")"
FORM=()
while IFS= read -r field; do FORM+=(-F "$field"); done < <(json "'\n'.join(f'{k}={v}' for k, v in j['fields'].items())" < "$WORK/form.json")
UPLOADED="$(curl -s -o /dev/null -w '%{http_code}' "${FORM[@]}" -F "file=@$WORK/photo.jpg;type=image/jpeg" "$URL")"
[[ "$UPLOADED" =~ ^20[0-9]$ ]] || fail "upload to $URL answered $UPLOADED"
echo "   POST $URL -> $UPLOADED ($KEY)"

say "the owner posts it"
call POST "/shops/$SHOP/posts" "$OWNER" "{\"text\": \"방금 나온 손두부, 사진으로 먼저 보세요 #손두부 #스모크테스트\", \"photos\": [\"$KEY\"]}" > "$WORK/post.json"
expect 201 "POST /shops/{id}/posts"
POST="$(json "j['post_id']" < "$WORK/post.json")"
PHOTO_URL="$(json "j['photo_urls'][0]" < "$WORK/post.json")"
echo "   post $POST, hashtags $(json "j['hashtags']" < "$WORK/post.json")"
PHOTO_STATUS="$(curl -s -o /dev/null -w '%{http_code}' "$PHOTO_URL")"
[[ "$PHOTO_STATUS" == 200 ]] || fail "photo url $PHOTO_URL answered $PHOTO_STATUS"
echo "   GET $PHOTO_URL -> 200"

say "it reaches the customer's feed within 3 s"
wait_feed "$CUSTOMER" "$POST" True 3
call GET "/feed?limit=1" "$CUSTOMER" | json "{k: j['items'][0][k] for k in ('shop_name', 'shop_handle', 'text', 'photos')}"

say "unfollow: it leaves the feed"
call DELETE "/shops/$SHOP/follow" "$CUSTOMER" >/dev/null; expect 204 "DELETE /shops/{id}/follow"
wait_feed "$CUSTOMER" "$POST" False 3

say "follow again (the shop's recent posts are merged back), then the owner deletes the post"
call PUT "/shops/$SHOP/follow" "$CUSTOMER" >/dev/null; expect 200 "PUT /shops/{id}/follow"
wait_feed "$CUSTOMER" "$POST" True 3
call DELETE "/posts/$POST" "$OWNER" >/dev/null; expect 204 "DELETE /posts/{id}"
wait_feed "$CUSTOMER" "$POST" False 3
MINJI="$(call POST /auth/login "" "{\"email\": \"minji@dongne.kr\", \"password\": \"$PASSWORD\"}" | json "j['token']")"
[[ "$(feed_has "$MINJI" "$POST")" == False ]] || fail "the deleted post is still in a demo customer's feed"
echo "   gone from every follower's feed (checked the demo customer minji too)"
call GET "/posts/$POST" >/dev/null; expect 404 "GET /posts/{id} after delete"

say "clean up: the smoke customer unfollows"
call DELETE "/shops/$SHOP/follow" "$CUSTOMER" >/dev/null; expect 204 "DELETE /shops/{id}/follow"

printf '\nsmoke_social: all steps passed against %s\n' "$BASE"
