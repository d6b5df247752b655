#!/bin/sh
# Roll Kapbook out on the cluster kubectl points at: migrations first, then the services.
#
# 1. Delete the previous release's migration Jobs (a Job's pod template cannot be changed).
# 2. Apply ./migrate (namespace, settings, one Job per service) and wait until every Job completed.
# 3. Apply the services, workers and gateway, and wait for each Deployment's rollout.
#
# Old pods keep serving during step 2, so every migration must work with the code of the release
# before it (add columns and tables first; drop them a release later). A Job that fails stops here,
# before any pod of the new release starts: `kubectl -n kapbook logs job/<service>-migrate`.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
namespace=kapbook

kubectl -n "$namespace" delete job -l app.kubernetes.io/component=migrate --ignore-not-found
kubectl apply -k "$here/migrate"
kubectl -n "$namespace" wait --for=condition=complete job -l app.kubernetes.io/component=migrate --timeout=15m
kubectl apply -k "$here"
for deployment in booking booking-worker eligibility eligibility-worker reminders reminders-worker gateway; do
    kubectl -n "$namespace" rollout status "deployment/$deployment" --timeout=10m
done
