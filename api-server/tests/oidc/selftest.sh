#!/usr/bin/env bash
# Self-test of the test IdP (provider.mjs): starts it and drives every feature
# the Rust integration tests rely on with plain curl, following redirects by
# hand with a cookie jar. Exits non-zero on any failure.
#
#   bash api-server/tests/oidc/selftest.sh
set -uo pipefail

cd "$(dirname "$0")"
HERE=$(pwd)

if [ ! -d node_modules/oidc-provider ]; then
  npm ci --no-audit --no-fund >&2 || { echo "npm ci failed" >&2; exit 1; }
fi

WORK=$(mktemp -d)
PIDS=()
cleanup() {
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null; done
  [ -n "${KEEP_WORK:-}" ] && echo "kept $WORK" >&2 || rm -rf "$WORK"
}
trap cleanup EXIT

PASS=0
FAIL=0
ok() { PASS=$((PASS + 1)); echo "ok   - $1"; }
bad() { FAIL=$((FAIL + 1)); echo "FAIL - $1"; }
# expect DESC ACTUAL EXPECTED
expect() {
  if [ "$2" == "$3" ]; then ok "$1"; else bad "$1 (got [$2], want [$3])"; fi
}
# expect_match DESC ACTUAL REGEX
expect_match() {
  if [[ "$2" =~ $3 ]]; then ok "$1"; else bad "$1 (got [$2], want match of /$3/)"; fi
}

# --- small node helper: JSON access, JWT decoding/verification, PKCE, query strings
H="$WORK/h.cjs"
cat >"$H" <<'EOF'
const crypto = require('node:crypto');
const [cmd, ...args] = process.argv.slice(2);
const b64 = (s) => JSON.parse(Buffer.from(s, 'base64url').toString());
const out = (v) => console.log(typeof v === 'string' ? v : JSON.stringify(v));
switch (cmd) {
  case 'get': { // get JSON EXPR  (EXPR uses `o`)
    let o; try { o = JSON.parse(args[0]); } catch { out('<not json>'); break; }
    let v; try { v = eval(args[1]); } catch { v = '<error>'; }
    out(v === undefined ? '<undefined>' : v);
    break;
  }
  case 'header': out(b64(args[0].split('.')[0])); break;
  case 'payload': out(b64(args[0].split('.')[1])); break;
  case 'verify': { // verify JWT JWKS_JSON -> valid | bad-signature | unknown-kid
    const [h, p, s] = args[0].split('.');
    const { kid } = b64(h);
    const jwk = JSON.parse(args[1]).keys.find((k) => k.kid === kid);
    if (!jwk) { out('unknown-kid'); break; }
    const key = crypto.createPublicKey({ key: jwk, format: 'jwk' });
    const good = crypto.verify('sha256', Buffer.from(`${h}.${p}`), key, Buffer.from(s, 'base64url'));
    out(good ? 'valid' : 'bad-signature');
    break;
  }
  case 'challenge': out(crypto.createHash('sha256').update(args[0]).digest('base64url')); break;
  case 'random': out(crypto.randomBytes(32).toString('base64url')); break;
  case 'now': out(String(Math.floor(Date.now() / 1000))); break;
  case 'qs': out(new URLSearchParams(Object.fromEntries(args.map((a) => { const i = a.indexOf('='); return [a.slice(0, i), a.slice(i + 1)]; }))).toString()); break;
  default: throw new Error(`unknown helper ${cmd}`);
}
EOF
j() { node "$H" get "$1" "$2"; }
jwt_payload() { node "$H" payload "$1"; }
jwt_header() { node "$H" header "$1"; }
jwt_verify() { node "$H" verify "$1" "$2"; }

# --- start the provider -----------------------------------------------------
REDIRECT_URI="http://127.0.0.1:8080/auth/callback"
POST_LOGOUT_URI="http://127.0.0.1:8080/"
CLIENTS='[
 {"client_id":"consortia","client_secret":"s3cret","redirect_uris":["http://127.0.0.1:8080/auth/callback"],"post_logout_redirect_uris":["http://127.0.0.1:8080/"],"grant_types":["authorization_code","client_credentials"],"response_types":["code"],"token_endpoint_auth_method":"client_secret_basic"},
 {"client_id":"consortia-post","client_secret":"p0st","redirect_uris":["http://127.0.0.1:8080/auth/callback"],"post_logout_redirect_uris":["http://127.0.0.1:8080/"],"grant_types":["authorization_code","client_credentials"],"response_types":["code"],"token_endpoint_auth_method":"client_secret_post"}
]'

# start_provider NAME [ENV=VALUE...]: stdin from /dev/null, sets ISSUER
start_provider() {
  local name=$1
  shift
  env OIDC_CLIENTS="$CLIENTS" "$@" node "$HERE/provider.mjs" >"$WORK/$name.out" 2>"$WORK/$name.err" </dev/null &
  local pid=$!
  PIDS+=("$pid")
  echo "$pid" >"$WORK/$name.pid"
  for _ in $(seq 1 150); do
    [ -s "$WORK/$name.out" ] && break
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  ISSUER=$(j "$(head -n1 "$WORK/$name.out")" 'o.issuer')
}

start_provider main
READY=$(head -n1 "$WORK/main.out")
PORT=$(j "$READY" 'o.port')
expect_match "ready line is {issuer,port} JSON" "$READY" '^\{"issuer":"http://127\.0\.0\.1:[0-9]+","port":[0-9]+\}$'
expect "issuer matches port" "$ISSUER" "http://127.0.0.1:$PORT"
if [ -z "$PORT" ] || [ "$PORT" == "<undefined>" ]; then
  echo "provider did not start:" >&2
  cat "$WORK/main.err" >&2
  exit 1
fi
LISTEN=$( (ss -ltnH 2>/dev/null || netstat -ltn 2>/dev/null) | grep ":$PORT " | awk '{print $4}' | head -n1)
[ -n "$LISTEN" ] && expect "bound to 127.0.0.1 only" "$LISTEN" "127.0.0.1:$PORT"

# --- control + discovery --------------------------------------------------------
expect "GET /test/health" "$(curl -s "$ISSUER/test/health")" '{"ok":true}'
STATS0=$(curl -s "$ISSUER/test/stats")
DISC=$(curl -s "$ISSUER/.well-known/openid-configuration")
expect "discovery issuer" "$(j "$DISC" 'o.issuer')" "$ISSUER"
expect "discovery authorization_endpoint" "$(j "$DISC" 'o.authorization_endpoint')" "$ISSUER/auth"
expect "discovery token_endpoint" "$(j "$DISC" 'o.token_endpoint')" "$ISSUER/token"
expect "discovery jwks_uri" "$(j "$DISC" 'o.jwks_uri')" "$ISSUER/jwks"
expect "discovery userinfo_endpoint" "$(j "$DISC" 'o.userinfo_endpoint')" "$ISSUER/me"
expect "discovery end_session_endpoint" "$(j "$DISC" 'o.end_session_endpoint')" "$ISSUER/session/end"
expect "discovery S256" "$(j "$DISC" 'o.code_challenge_methods_supported.includes("S256")')" "true"
expect "discovery scopes" "$(j "$DISC" 'o.scopes_supported.join(" ")')" "openid email profile groups"
STATS1=$(curl -s "$ISSUER/test/stats")
expect "stats count discovery" "$(($(j "$STATS1" 'o.discovery_requests') - $(j "$STATS0" 'o.discovery_requests')))" "1"

JWKS=$(curl -s "$ISSUER/jwks")
MAIN_KID=$(j "$JWKS" 'o.keys[0].kid')
expect "jwks has one RSA RS256 signing key" "$(j "$JWKS" 'o.keys.map(k=>k.kty+"/"+k.alg+"/"+k.use).join(",")')" "RSA/RS256/sig"
expect "jwks exposes no private parts" "$(j "$JWKS" 'o.keys.some(k=>"d" in k)')" "false"

# --- login ------------------------------------------------------------------
# login JAR CLIENT_ID: runs a full authorization-code + PKCE login by hand.
# Sets VERIFIER, STATE, NONCE, CALLBACK, CODE, CHAIN.
# Extra NAME=VALUE arguments are added to (or override) the authorization request.
login() {
  local jar=$1 client=$2
  shift 2
  VERIFIER=$(node "$H" random)
  STATE=$(node "$H" random)
  NONCE=$(node "$H" random)
  local challenge
  challenge=$(node "$H" challenge "$VERIFIER")
  local url="$ISSUER/auth?$(node "$H" qs client_id="$client" response_type=code scope="openid email profile groups" \
    redirect_uri="$REDIRECT_URI" state="$STATE" nonce="$NONCE" code_challenge="$challenge" code_challenge_method=S256 "$@")"
  CHAIN=""
  CALLBACK=""
  CODE=""
  local hop status location raw
  RAW_LOCATIONS=""
  for hop in $(seq 1 10); do
    read -r status location raw < <(curl -s -o "$WORK/body" -b "$jar" -c "$jar" -w '%{http_code} %{redirect_url} %header{location}\n' "$url")
    CHAIN+="GET ${url%%\?*} -> $status"$'\n'
    RAW_LOCATIONS+="$raw"$'\n'
    case "$status" in
      302 | 303) ;;
      *) CHAIN+="  body: $(head -c 300 "$WORK/body")"$'\n'; return 1 ;;
    esac
    if [[ "$location" == "$REDIRECT_URI"* ]]; then
      CALLBACK=$location
      CHAIN+="-> $REDIRECT_URI?..."$'\n'
      CODE=$(node -e 'console.log(new URL(process.argv[1]).searchParams.get("code") ?? "")' "$CALLBACK")
      return 0
    fi
    url=$location
  done
  return 1
}
cb_param() { node -e 'console.log(new URL(process.argv[1]).searchParams.get(process.argv[2]) ?? "<none>")' "$CALLBACK" "$1"; }

# exchange CLIENT SECRET AUTH(basic|post) CODE VERIFIER
exchange() {
  if [ "$3" == "basic" ]; then
    curl -s -u "$1:$2" "$ISSUER/token" -d grant_type=authorization_code \
      --data-urlencode "code=$4" --data-urlencode "redirect_uri=$REDIRECT_URI" --data-urlencode "code_verifier=$5"
  else
    curl -s "$ISSUER/token" -d grant_type=authorization_code -d "client_id=$1" --data-urlencode "client_secret=$2" \
      --data-urlencode "code=$4" --data-urlencode "redirect_uri=$REDIRECT_URI" --data-urlencode "code_verifier=$5"
  fi
}

curl -s "$ISSUER/test/accounts" -H 'content-type: application/json' \
  -d '{"sub":"bob","email":"bob@corp.example","name":"Bob","groups":["ops","admins"]}' >/dev/null
expect "next-login bob" "$(curl -s "$ISSUER/test/next-login" -H 'content-type: application/json' -d '{"sub":"bob"}')" '{"next_login":"bob"}'

JAR="$WORK/jar1"
if login "$JAR" consortia; then ok "login chain reaches redirect_uri with a code"; else bad "login chain"; fi
echo "$CHAIN" | sed 's/^/      /'
expect_match "chain: /auth -> /interaction/<uid> -> /auth/<uid> -> redirect_uri" \
  "$(echo "$CHAIN" | head -n3 | tr '\n' '|')" "^GET $ISSUER/auth -> 303\|GET $ISSUER/interaction/[^ ]+ -> 303\|GET $ISSUER/auth/[^ ]+ -> 303\|$"
expect "every Location header is absolute" "$(echo -n "$RAW_LOCATIONS" | grep -vc '^http://')" "0"
expect "callback state" "$(cb_param state)" "$STATE"
expect "callback iss" "$(cb_param iss)" "$ISSUER"
expect_match "callback code" "$CODE" '^.{20,}$'
expect_match "cookie jar holds _session" "$(cat "$JAR")" '_session'

TOK=$(exchange consortia s3cret basic "$CODE" "$VERIFIER")
IDT=$(j "$TOK" 'o.id_token')
AT=$(j "$TOK" 'o.access_token')
expect "token response: token_type, expires_in, scope" "$(j "$TOK" '[o.token_type,o.expires_in,o.scope].join(" ")')" "Bearer 600 api"
IDP=$(jwt_payload "$IDT")
expect "id_token iss" "$(j "$IDP" 'o.iss')" "$ISSUER"
expect "id_token aud" "$(j "$IDP" 'o.aud')" "consortia"
expect "id_token sub" "$(j "$IDP" 'o.sub')" "bob"
expect "id_token nonce" "$(j "$IDP" 'o.nonce')" "$NONCE"
expect "id_token email" "$(j "$IDP" 'o.email')" "bob@corp.example"
expect "id_token email_verified" "$(j "$IDP" 'o.email_verified')" "true"
expect "id_token name" "$(j "$IDP" 'o.name')" "Bob"
expect "id_token groups" "$(j "$IDP" 'o.groups')" '["ops","admins"]'
expect "id_token ttl (OIDC_ID_TOKEN_TTL default 600)" "$(j "$IDP" 'o.exp-o.iat')" "600"
expect "id_token header" "$(j "$(jwt_header "$IDT")" 'o.alg+"/"+o.kid')" "RS256/$MAIN_KID"
expect "id_token signature verifies against jwks" "$(jwt_verify "$IDT" "$JWKS")" "valid"
ATP=$(jwt_payload "$AT")
expect "access_token is at+jwt" "$(j "$(jwt_header "$AT")" 'o.typ+"/"+o.alg+"/"+o.kid')" "at+jwt/RS256/$MAIN_KID"
expect "access_token aud" "$(j "$ATP" 'o.aud')" "consortia-api"
expect "access_token scope" "$(j "$ATP" 'o.scope')" "api"
expect "access_token iss/sub/client_id" "$(j "$ATP" '[o.iss,o.sub,o.client_id].join(" ")')" "$ISSUER bob consortia"
expect "access_token ttl (OIDC_ACCESS_TOKEN_TTL default 600)" "$(j "$ATP" 'o.exp-o.iat')" "600"
expect "access_token signature verifies" "$(jwt_verify "$AT" "$JWKS")" "valid"

TOK2=$(exchange consortia s3cret basic "$CODE" "$VERIFIER")
expect "second exchange of the same code fails" "$(j "$TOK2" 'o.error')" "invalid_grant"

# Same cookie jar, default account: the IdP session of bob is replaced by alice.
if login "$JAR" consortia; then ok "second login in the same jar (account switch)"; else bad "second login in the same jar"; fi
echo "$CHAIN" | sed 's/^/      /'
TOK=$(exchange consortia s3cret basic "$CODE" "$VERIFIER")
IDP=$(jwt_payload "$(j "$TOK" 'o.id_token')")
expect "next-login is one-shot; default account alice" "$(j "$IDP" '[o.sub,o.email,o.name,JSON.stringify(o.groups)].join(" ")')" "alice alice@idp.example alice []"

# Requesting resource=<audience> explicitly works too, and client_secret_post.
if login "$WORK/jar2" consortia-post resource=consortia-api "scope=openid email api"; then ok "login with explicit resource=consortia-api"; else bad "login with explicit resource"; echo "$CHAIN"; fi
TOK=$(exchange consortia-post p0st post "$CODE" "$VERIFIER")
expect "client_secret_post code exchange: at aud" "$(j "$(jwt_payload "$(j "$TOK" 'o.access_token')")" 'o.aud+" "+o.scope')" "consortia-api api"
IDP=$(jwt_payload "$(j "$TOK" 'o.id_token')")
expect "scope openid email: no name/groups in id_token" "$(j "$IDP" '[o.email, o.name, o.groups].join("|")')" "alice@idp.example||"

# PKCE is required and checked.
R=$(curl -s -o /dev/null -w '%{redirect_url}' "$ISSUER/auth?$(node "$H" qs client_id=consortia response_type=code scope=openid redirect_uri="$REDIRECT_URI" state=s)")
expect_match "authorization request without code_challenge is rejected" "$R" 'error=invalid_request'
login "$WORK/jar3" consortia >/dev/null
expect "wrong code_verifier is rejected" "$(j "$(exchange consortia s3cret basic "$CODE" "wrong-verifier-wrong-verifier-wrong-verifier-xx")" 'o.error')" "invalid_grant"
expect "wrong client secret is rejected" "$(j "$(exchange consortia nope basic "$CODE" "$VERIFIER")" 'o.error')" "invalid_client"

# --- tampering ------------------------------------------------------------------
# tampered JSON -> sets TID (tampered id_token payload) and TIDT (token)
tampered() {
  curl -s "$ISSUER/test/tamper" -H 'content-type: application/json' -d "$1" >/dev/null
  login "$WORK/jar-t" consortia >/dev/null || bad "login for tamper $1"
  TIDT=$(j "$(exchange consortia s3cret basic "$CODE" "$VERIFIER")" 'o.id_token')
  TID=$(jwt_payload "$TIDT")
}
tampered '{"claims":{"iss":"http://evil"}}'
expect "tamper iss" "$(j "$TID" 'o.iss')" "http://evil"
expect "tamper iss keeps other claims" "$(j "$TID" 'o.nonce')" "$NONCE"
expect "tamper key=provider: same kid, valid signature" "$(j "$(jwt_header "$TIDT")" 'o.kid')/$(jwt_verify "$TIDT" "$JWKS")" "$MAIN_KID/valid"
tampered '{"claims":{"aud":"other"}}'
expect "tamper aud" "$(j "$TID" 'o.aud')" "other"
tampered '{"claims":{"nonce":"wrong"}}'
expect "tamper nonce" "$(j "$TID" 'o.nonce')" "wrong"
PAST=$(($(node "$H" now) - 3600))
tampered "{\"claims\":{\"exp\":$PAST}}"
expect "tamper exp" "$(j "$TID" 'o.exp')" "$PAST"
tampered '{"remove":["nonce"]}'
expect "tamper remove nonce" "$(j "$TID" '"nonce" in o')" "false"
tampered '{"key":"unknown"}'
UNKNOWN_KID=$(j "$(jwt_header "$TIDT")" 'o.kid')
expect "tamper key=unknown: kid not in jwks" "$(jwt_verify "$TIDT" "$(curl -s "$ISSUER/jwks")")" "unknown-kid"
expect "tamper key=unknown: kid differs" "$([ "$UNKNOWN_KID" != "$MAIN_KID" ] && echo yes)" "yes"
login "$WORK/jar-t" consortia >/dev/null
TIDT=$(j "$(exchange consortia s3cret basic "$CODE" "$VERIFIER")" 'o.id_token')
expect "tamper is one-shot" "$(j "$(jwt_payload "$TIDT")" 'o.nonce')/$(jwt_verify "$TIDT" "$JWKS")" "$NONCE/valid"

# --- client credentials ---------------------------------------------------------
CC=$(curl -s -u consortia:s3cret "$ISSUER/token" -d grant_type=client_credentials -d resource=consortia-api -d scope=api)
CCP=$(jwt_payload "$(j "$CC" 'o.access_token')")
expect "client_credentials resource=consortia-api: JWT aud/sub/scope" "$(j "$CCP" '[o.aud,o.sub,o.client_id,o.scope].join(" ")')" "consortia-api consortia consortia api"
expect "client_credentials token verifies" "$(jwt_verify "$(j "$CC" 'o.access_token')" "$JWKS")" "valid"
CC=$(curl -s "$ISSUER/token" -d grant_type=client_credentials -d client_id=consortia-post -d client_secret=p0st)
expect "client_credentials without resource (default), client_secret_post" "$(j "$(jwt_payload "$(j "$CC" 'o.access_token')")" 'o.aud+" "+o.scope')" "consortia-api api"
expect "client_credentials response scope" "$(j "$CC" 'o.scope')" "api"
CC=$(curl -s -u consortia:s3cret "$ISSUER/token" -d grant_type=client_credentials -d resource=https://elsewhere.example)
expect "client_credentials for another resource is refused" "$(j "$CC" 'o.error')" "invalid_target"

# --- mint / rotate / stats --------------------------------------------------------
S0=$(curl -s "$ISSUER/test/stats")
M=$(curl -s "$ISSUER/test/mint" -H 'content-type: application/json' -d '{"claims":{"sub":"bob","aud":"consortia-api","client_id":"consortia","scope":"api"}}')
MT=$(j "$M" 'o.token')
MP=$(jwt_payload "$MT")
expect "mint provider: header" "$(j "$(jwt_header "$MT")" 'o.typ+"/"+o.alg+"/"+o.kid')" "at+jwt/RS256/$MAIN_KID"
expect "mint provider: claims" "$(j "$MP" '[o.iss,o.sub,o.aud,o.client_id,o.scope,o.exp-o.iat,typeof o.jti].join(" ")')" "$ISSUER bob consortia-api consortia api 600 string"
expect "mint provider: verifies" "$(jwt_verify "$MT" "$JWKS")" "valid"
M=$(curl -s "$ISSUER/test/mint" -H 'content-type: application/json' -d '{"claims":{"sub":"bob"},"ttl":-60}')
expect "mint ttl -60 is expired" "$(j "$(jwt_payload "$(j "$M" 'o.token')")" 'o.exp < Date.now()/1000 && o.exp-o.iat === -60')" "true"
M=$(curl -s "$ISSUER/test/mint" -H 'content-type: application/json' -d '{"key":"unknown","claims":{"sub":"bob"}}')
expect "mint unknown: kid not published" "$(jwt_verify "$(j "$M" 'o.token')" "$(curl -s "$ISSUER/jwks")")" "unknown-kid"

JWKS_BEFORE=$(curl -s "$ISSUER/jwks")
M=$(curl -s "$ISSUER/test/mint" -H 'content-type: application/json' -d '{"key":"rotated","claims":{"sub":"bob","aud":"consortia-api"}}')
RT=$(j "$M" 'o.token')
ROT_KID=$(j "$(jwt_header "$RT")" 'o.kid')
expect "rotated kid differs from main" "$([ -n "$ROT_KID" ] && [ "$ROT_KID" != "$MAIN_KID" ] && echo yes)" "yes"
expect "jwks before rotation lacks rotated kid" "$(jwt_verify "$RT" "$JWKS_BEFORE")" "unknown-kid"
JWKS_AFTER=$(curl -s "$ISSUER/jwks")
expect "jwks after rotation lists both keys" "$(j "$JWKS_AFTER" 'o.keys.map(k=>k.kid).join(",")')" "$MAIN_KID,$ROT_KID"
expect "rotated-key token verifies against new jwks" "$(jwt_verify "$RT" "$JWKS_AFTER")" "valid"
expect "old main-key tokens still verify" "$(jwt_verify "$MT" "$JWKS_AFTER")" "valid"
expect "POST /test/rotate returns the same rotated kid" "$(j "$(curl -s -X POST "$ISSUER/test/rotate")" 'o.kid')" "$ROT_KID"
S1=$(curl -s "$ISSUER/test/stats")
expect "stats: jwks_requests counted (3 fetches)" "$(($(j "$S1" 'o.jwks_requests') - $(j "$S0" 'o.jwks_requests')))" "3"
expect "stats: no token requests while minting" "$(($(j "$S1" 'o.token_requests') - $(j "$S0" 'o.token_requests')))" "0"
curl -s -u consortia:s3cret "$ISSUER/token" -d grant_type=client_credentials >/dev/null
S2=$(curl -s "$ISSUER/test/stats")
expect "stats: token_requests counted" "$(($(j "$S2" 'o.token_requests') - $(j "$S1" 'o.token_requests')))" "1"
expect "stats reset" "$(curl -s -X POST "$ISSUER/test/stats/reset")" '{"jwks_requests":0,"token_requests":0,"discovery_requests":0}'

# --- RP-initiated logout ---------------------------------------------------------
JAR="$WORK/jar-logout"
curl -s "$ISSUER/test/next-login" -H 'content-type: application/json' -d '{"sub":"bob"}' >/dev/null
login "$JAR" consortia >/dev/null || bad "login before logout"
IDT=$(j "$(exchange consortia s3cret basic "$CODE" "$VERIFIER")" 'o.id_token')
URL="$ISSUER/session/end?$(node "$H" qs id_token_hint="$IDT" post_logout_redirect_uri="$POST_LOGOUT_URI" state=bye)"
read -r S L < <(curl -s -o /dev/null -b "$JAR" -c "$JAR" -w '%{http_code} %{redirect_url}\n' "$URL")
expect "logout step 1: 303" "$S" "303"
expect_match "logout step 1: Location is the GET confirm" "$L" "^$ISSUER/session/end/confirm\\?xsrf=[0-9a-f]+&logout=yes$"
read -r S L < <(curl -s -D "$WORK/logout.h" -o /dev/null -b "$JAR" -c "$JAR" -w '%{http_code} %{redirect_url}\n' "$L")
expect "logout step 2: 303" "$S" "303"
expect "logout step 2: Location is post_logout_redirect_uri" "$L" "${POST_LOGOUT_URI}?state=bye"
# (curl's jar ignores the empty-valued deletion cookie, so look at the header)
expect_match "logout step 2 expires the _session cookie" "$(grep -i '^set-cookie: _session=;' "$WORK/logout.h")" 'expires=Thu, 01 Jan 1970'
expect "after logout: login with the stale jar still works" "$(login "$JAR" consortia && echo yes)" "yes"
# Without an IdP session cookie (fresh client) the chain is the same.
read -r S L < <(curl -s -o /dev/null -b "$WORK/jar-fresh" -c "$WORK/jar-fresh" -w '%{http_code} %{redirect_url}\n' "$URL")
expect_match "logout without session: step 1" "$S $L" "^303 $ISSUER/session/end/confirm\\?xsrf="
read -r S L < <(curl -s -o /dev/null -b "$WORK/jar-fresh" -c "$WORK/jar-fresh" -w '%{http_code} %{redirect_url}\n' "$L")
expect "logout without session: step 2" "$S $L" "303 ${POST_LOGOUT_URI}?state=bye"
# curl -L does the whole thing in one go.
FINAL=$(curl -s -o /dev/null -L --max-redirs 5 -b "$WORK/jar-L" -c "$WORK/jar-L" -w '%{url_effective}' "$URL" 2>/dev/null)
expect "curl -L logout ends at post_logout_redirect_uri" "$FINAL" "${POST_LOGOUT_URI}?state=bye"

# --- control endpoint errors -------------------------------------------------------
expect "unknown control endpoint is 404" "$(curl -s -o /dev/null -w '%{http_code}' "$ISSUER/test/nope")" "404"
expect "bad mint key is 400" "$(curl -s -o /dev/null -w '%{http_code}' "$ISSUER/test/mint" -d '{"key":"bogus"}')" "400"

# stdout carried only the ready line
expect "stdout has exactly one line" "$(wc -l <"$WORK/main.out")" "1"

# --- shutdown ------------------------------------------------------------------------
MAIN_PID=$(cat "$WORK/main.pid")
kill -TERM "$MAIN_PID"
for _ in $(seq 1 50); do kill -0 "$MAIN_PID" 2>/dev/null || break; sleep 0.1; done
wait "$MAIN_PID"
expect "SIGTERM: exits with status 0" "$?" "0"

# stdin closing (parent died) stops it: hold stdin through a FIFO, then close it.
mkfifo "$WORK/stdin.fifo"
OIDC_CLIENTS="$CLIENTS" node "$HERE/provider.mjs" <"$WORK/stdin.fifo" >"$WORK/stdin.out" 2>"$WORK/stdin.err" &
SPID=$!
PIDS+=("$SPID")
exec 7>"$WORK/stdin.fifo"
for _ in $(seq 1 150); do [ -s "$WORK/stdin.out" ] && break; sleep 0.1; done
expect "stdin instance started" "$(kill -0 "$SPID" 2>/dev/null && echo up)" "up"
exec 7>&-
for _ in $(seq 1 50); do kill -0 "$SPID" 2>/dev/null || break; sleep 0.1; done
expect "closing stdin stops the provider" "$(kill -0 "$SPID" 2>/dev/null && echo up || echo gone)" "gone"

# --- env vars: fixed port, TTLs, audience that is a URI, SSO mode -------------------
FREE_PORT=$(node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})')
start_provider env OIDC_PORT="$FREE_PORT" OIDC_ID_TOKEN_TTL=120 OIDC_ACCESS_TOKEN_TTL=90 \
  OIDC_API_AUDIENCE=https://api.consortia.test OIDC_SSO=1
expect "OIDC_PORT honoured" "$ISSUER" "http://127.0.0.1:$FREE_PORT"
login "$WORK/jar-env" consortia || bad "login (env instance)"
echo "$CHAIN" | sed 's/^/      /'
TOK=$(exchange consortia s3cret basic "$CODE" "$VERIFIER")
expect "OIDC_ID_TOKEN_TTL" "$(j "$(jwt_payload "$(j "$TOK" 'o.id_token')")" 'o.exp-o.iat')" "120"
expect "OIDC_ACCESS_TOKEN_TTL + URI audience" "$(j "$(jwt_payload "$(j "$TOK" 'o.access_token')")" '(o.exp-o.iat)+" "+o.aud')" "90 https://api.consortia.test"
CC=$(curl -s -u consortia:s3cret "$ISSUER/token" -d grant_type=client_credentials -d resource=https://api.consortia.test)
expect "client_credentials with URI audience" "$(j "$(jwt_payload "$(j "$CC" 'o.access_token')")" '(o.exp-o.iat)+" "+o.aud')" "90 https://api.consortia.test"
login "$WORK/jar-env" consortia || bad "second login (SSO)"
expect "OIDC_SSO=1: second login reuses the session (no interaction)" "$(echo "$CHAIN" | grep -c interaction)" "0"

# A second client on the same IdP session needs consent only: a consent-only
# interaction, also finished automatically.
if login "$WORK/jar-env" consortia-post; then ok "SSO + new client: consent-only interaction"; else bad "SSO + new client"; fi
echo "$CHAIN" | sed 's/^/      /'
expect "SSO + new client: one interaction hop" "$(echo "$CHAIN" | grep -c interaction)" "1"
TOK=$(exchange consortia-post p0st post "$CODE" "$VERIFIER")
expect "SSO + new client: tokens" "$(j "$(jwt_payload "$(j "$TOK" 'o.id_token')")" 'o.aud+" "+o.email')" "consortia-post alice@idp.example"

echo
if [ "$FAIL" -ne 0 ]; then
  for f in "$WORK"/*.err; do echo "--- $(basename "$f")"; tail -n 40 "$f"; done
fi
echo "selftest: $PASS passed, $FAIL failed"
[ "$FAIL" -eq 0 ]
