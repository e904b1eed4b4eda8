#!/usr/bin/env bats
# The mvp scripts/deploy.sh, run as the deploy workflow runs it, against a `docker` stand-in.
# Why a stand-in: no Docker daemon runs on the machines that run this suite, and what matters is
# which compose commands the script runs, with which IMAGE_TAG, whatever way a release fails.
# The stand-in logs every call as "<IMAGE_TAG> <arguments>", keeps the tag each service runs
# (`up` with service names moves those, `up` alone every service of compose.prod.yaml whose image
# is the release's) and fails where a scenario says:
#   UP_FAILS_FOR=<tag>        `compose up` exits 1 for that tag (the api never turns healthy)
#   NEW_REVISION_FROM=<tag>   that release adds a migration: an older image's migrations (run
#                             alone or as a dependency of `up`) cannot locate the database revision
#   READY_TAGS="<tag> ..."    the tags whose api answers /health/ready (a `curl` stand-in)
# `docker image ls/rm` list and remove lines of $IMAGES ("<repository>:<tag>" each).
# Run by the nox variant check of mvp: DEPLOY_SCRIPT is the rendered scripts/deploy.sh.

setup() {
  : "${DEPLOY_SCRIPT:?set DEPLOY_SCRIPT to a rendered scripts/deploy.sh}"
  project="$BATS_TEST_TMPDIR/app"
  stand_ins="$BATS_TEST_TMPDIR/bin"
  mkdir -p "$project/scripts" "$stand_ins"
  cp "$DEPLOY_SCRIPT" "$project/scripts/deploy.sh"
  # The rendered project's compose.prod.yaml, next to its scripts/.
  cp "$(dirname "$DEPLOY_SCRIPT")/../compose.prod.yaml" "$project/compose.prod.yaml"
  printf 'SECRET_KEY=kept\nIMAGE_TAG=old\nREDIS_PASSWORD=kept\n' >"$project/.env"
  chmod 600 "$project/.env"
  export DOCKER_LOG="$BATS_TEST_TMPDIR/docker.log" RUNNING="$BATS_TEST_TMPDIR/running"
  export READY_TIMEOUT_SECONDS=0 UP_FAILS_FOR="" NEW_REVISION_FROM="" READY_TAGS="new old"
  # The long-running services on the release's images: those whose image is tagged ${IMAGE_TAG}
  # (the migrations service runs once per deploy, with `run`).
  RELEASE_SERVICES="$(awk '
    /^[^ #]/ { in_services = ($0 == "services:") }
    in_services && /^  [a-z][a-z0-9_-]*:$/ { service = substr($1, 1, length($1) - 1) }
    in_services && /^    image: .*[$][{]IMAGE_TAG/ && service != "migrations" { print service }
  ' "$project/compose.prod.yaml" | xargs)"
  export RELEASE_SERVICES
  [[ " $RELEASE_SERVICES " == *" api "* ]] || {
    echo "no api service on \${IMAGE_TAG} in compose.prod.yaml" >&2
    return 1
  }
  export IMAGES="$BATS_TEST_TMPDIR/images"
  : >"$DOCKER_LOG"
  : >"$IMAGES"
  mkdir -p "$RUNNING"
  for service in $RELEASE_SERVICES; do echo old >"$RUNNING/$service"; done

  cat >"$stand_ins/docker" <<'STAND_IN'
#!/usr/bin/env bash
echo "${IMAGE_TAG:-unset} $*" >>"$DOCKER_LOG"
case " $* " in
  " image ls "*)
    sed -n "s|^${*: -1}:||p" "$IMAGES"
    exit 0 ;;
  " image rm "*)
    grep -qxF "${*: -1}" "$IMAGES" || { echo "No such image: ${*: -1}" >&2; exit 1; }
    grep -vxF "${*: -1}" "$IMAGES" >"$IMAGES.new" || true
    mv "$IMAGES.new" "$IMAGES"
    exit 0 ;;
  " image "*) exit 0 ;;
esac
tag="${IMAGE_TAG:?compose.prod.yaml needs IMAGE_TAG}"
older_than_schema() { [[ -n "$NEW_REVISION_FROM" && "$tag" != "$NEW_REVISION_FROM" && -e "$BATS_TEST_TMPDIR/migrated" ]]; }
case " $* " in
  *" run --rm migrations "*)
    if older_than_schema; then echo "Can't locate revision" >&2; exit 1; fi
    [[ "$tag" == "$NEW_REVISION_FROM" ]] && touch "$BATS_TEST_TMPDIR/migrated"
    exit 0 ;;
  *" up "*)
    # Without --no-deps, up runs the migrations service first, with this tag's image.
    if [[ " $* " != *" --no-deps "* ]] && older_than_schema; then echo "migrations exited 1" >&2; exit 1; fi
    # The services named after `up` (its options start with -), or all of them.
    services="$(printf '%s\n' "$@" | sed -n '/^up$/,$p' | sed '1d; /^-/d' | xargs)"
    for service in ${services:-$RELEASE_SERVICES}; do echo "$tag" >"$RUNNING/$service"; done
    [[ "$tag" == "$UP_FAILS_FOR" ]] && { echo "container api is unhealthy" >&2; exit 1; }
    exit 0 ;;
esac
exit 0
STAND_IN
  cat >"$stand_ins/curl" <<'STAND_IN'
#!/usr/bin/env bash
[[ " $READY_TAGS " == *" $(cat "$RUNNING/api") "* ]]
STAND_IN
  chmod +x "$stand_ins/docker" "$stand_ins/curl"
  PATH="$stand_ins:$PATH"
}

deploy() {
  run bash "$project/scripts/deploy.sh" "$@"
}

calls() {
  cat "$DOCKER_LOG"
}

# The tag each release service runs, one "<service> <tag>" line each.
running() {
  for service in $RELEASE_SERVICES; do echo "$service $(cat "$RUNNING/$service")"; done
}

# Every release service runs $1.
all_running() {
  [ "$(running)" = "$(for service in $RELEASE_SERVICES; do echo "$service $1"; done)" ]
}

@test "a ready release is recorded in .env, the rest of .env untouched" {
  deploy new
  [ "$status" -eq 0 ]
  [ "$(calls | head -n 3)" = "new compose --file compose.prod.yaml pull
new compose --file compose.prod.yaml run --rm migrations
new compose --file compose.prod.yaml up --detach --remove-orphans" ]
  [ "$(cat "$project/.env")" = "SECRET_KEY=kept
IMAGE_TAG=new
REDIS_PASSWORD=kept" ]
  [ "$(stat -c %a "$project/.env")" = 600 ]
}

@test "the first deploy appends IMAGE_TAG to an .env that has none" {
  printf 'SECRET_KEY=kept\n' >"$project/.env"
  deploy new
  [ "$status" -eq 0 ]
  [ "$(grep -c '^IMAGE_TAG=new$' "$project/.env")" -eq 1 ]
}

@test "compose up failing on an unhealthy api rolls back instead of stopping the script" {
  UP_FAILS_FOR=new READY_TAGS="old" deploy new
  [ "$status" -eq 1 ]
  [[ "$output" == *"rolling back to old"* ]]
  [[ "$output" == *"old is serving again"* ]]
  calls | tail -n 1 | grep -q '^old compose --file compose.prod.yaml up --detach --no-deps '
  all_running old
  grep -qx 'IMAGE_TAG=old' "$project/.env"
}

@test "a release that never turns ready is rolled back" {
  READY_TAGS="old" deploy new
  [ "$status" -eq 1 ]
  [[ "$output" == *"not ready within 0s"* ]]
  calls | tail -n 1 | grep -q '^old compose --file compose.prod.yaml up --detach --no-deps '
  all_running old
  grep -qx 'IMAGE_TAG=old' "$project/.env"
}

@test "rolling back a release that added a migration never migrates with the old image" {
  NEW_REVISION_FROM=new READY_TAGS="old" deploy new
  [ "$status" -eq 1 ]
  [[ "$output" == *"old is serving again"* ]]
  ! calls | grep -q '^old .*migrations'
  all_running old
}

@test "failed migrations leave the running release alone" {
  touch "$BATS_TEST_TMPDIR/migrated" # the database is at a revision the new image does not know
  NEW_REVISION_FROM=elsewhere deploy new
  [ "$status" -eq 1 ]
  [[ "$output" == *"running release was not touched"* ]]
  ! calls | grep -q ' up '
  all_running old
  grep -qx 'IMAGE_TAG=old' "$project/.env"
}

@test "a failed first deploy has nothing to roll back to and says so" {
  printf 'SECRET_KEY=kept\nIMAGE_TAG=\n' >"$project/.env"
  READY_TAGS="" deploy new
  [ "$status" -eq 1 ]
  [[ "$output" == *"no previous deployment to roll back to"* ]]
  grep -qx 'IMAGE_TAG=' "$project/.env"
}

@test "a rollback puts every service of the release back, the job worker too" {
  READY_TAGS="old" deploy new
  [ "$status" -eq 1 ]
  [[ " $RELEASE_SERVICES " == *" worker "* ]]
  all_running old || {
    running
    false
  }
}

@test "a ready release removes older release images but keeps the previous one for a rollback" {
  printf 'IMAGE_REPOSITORY=ghcr.io/acme/app\n' >>"$project/.env"
  for tag in older old new; do
    printf 'ghcr.io/acme/app-api:%s\nghcr.io/acme/app-web:%s\n' "$tag" "$tag" >>"$IMAGES"
  done
  echo postgres:16-alpine >>"$IMAGES"
  deploy new
  [ "$status" -eq 0 ]
  [ "$(sort "$IMAGES")" = "ghcr.io/acme/app-api:new
ghcr.io/acme/app-api:old
ghcr.io/acme/app-web:new
ghcr.io/acme/app-web:old
postgres:16-alpine" ]
  calls | grep -q ' image prune --force$'
}

@test "a failed release removes no image" {
  printf 'IMAGE_REPOSITORY=ghcr.io/acme/app\n' >>"$project/.env"
  printf 'ghcr.io/acme/app-api:older\n' >>"$IMAGES"
  READY_TAGS="old" deploy new
  [ "$status" -eq 1 ]
  grep -qx 'ghcr.io/acme/app-api:older' "$IMAGES"
  ! calls | grep -q ' image '
}

@test "a ready release makes the monitoring services read the copied configuration again" {
  deploy new
  [ "$status" -eq 0 ]
  calls | grep -qx 'new compose --file compose.prod.yaml kill --signal SIGHUP prometheus alertmanager blackbox-exporter'
}

@test "a failed release leaves the monitoring configuration as it was loaded" {
  READY_TAGS="old" deploy new
  [ "$status" -eq 1 ]
  ! calls | grep -q ' kill '
}

@test "the workflow's commit time is kept as IMAGE_TIME, for the next deploy to compare" {
  RELEASE_TIME=1764000000 deploy new
  [ "$status" -eq 0 ]
  grep -qx 'IMAGE_TIME=1764000000' "$project/.env"
  READY_TAGS="newer" RELEASE_TIME=1764000100 deploy newer
  [ "$(grep -c '^IMAGE_TIME=' "$project/.env")" -eq 1 ]
  grep -qx 'IMAGE_TIME=1764000100' "$project/.env"
}
