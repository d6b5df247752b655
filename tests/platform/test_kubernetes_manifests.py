"""deploy/kubernetes, checked without a cluster: every manifest against the Kubernetes API schemas
(kubernetes-validate, offline), and against the code and docker-compose.yml it deploys."""
from __future__ import annotations

import copy
import dataclasses
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import kubernetes_validate
import pytest
import yaml

from kapbook_booking.config import BookingConfig
from kapbook_eligibility.config import EligibilityConfig
from kapbook_platform.cli import heartbeat_path
from kapbook_platform.config import ConfigError
from kapbook_platform.devtools import compose_env
from kapbook_platform.heartbeat import beat
from kapbook_reminders.config import RemindersConfig

ROOT = Path(__file__).resolve().parents[2]
KUBERNETES = ROOT / "deploy" / "kubernetes"
# The oldest Kubernetes release still widely run that has every API the manifests use.
KUBERNETES_VERSION = "1.30.0"
CONFIGS = {"booking": BookingConfig, "eligibility": EligibilityConfig, "reminders": RemindersConfig}
SECRET_LIKE = re.compile(r"KEY|SECRET|PASSWORD|TOKEN")
CREDENTIALS_IN_URL = re.compile(r"://[^/\s@]*:[^/\s@]*@")
# Settings whose value is, or holds, a credential although the name does not say so.
URLS_WITH_PASSWORDS = {"KAPBOOK_BROKER_URL", "KAPBOOK_RATE_LIMIT_STORAGE", "BOOKING_DATABASE_URL",
                       "ELIGIBILITY_DATABASE_URL", "REMINDERS_DATABASE_URL"}
NAME = "app.kubernetes.io/name"
COMPONENT = "app.kubernetes.io/component"


# --- Reading the manifests ----------------------------------------------------------------------

def manifest_files() -> list[Path]:
    return sorted(path for path in KUBERNETES.rglob("*.yaml") if path.name != "kustomization.yaml")


def load(path: Path) -> list[dict]:
    return [document for document in yaml.safe_load_all(path.read_text()) if document is not None]


def manifests() -> list[dict]:
    return [document for path in manifest_files() for document in load(path)]


def of_kind(kind: str, items: list[dict] | None = None) -> list[dict]:
    return [item for item in (manifests() if items is None else items) if item["kind"] == kind]


def named(kind: str) -> dict[str, dict]:
    return {item["metadata"]["name"]: item for item in of_kind(kind)}


def pod_template(workload: dict) -> dict:
    return workload["spec"]["template"]


def only_container(workload: dict) -> dict:
    containers = pod_template(workload)["spec"]["containers"]
    assert len(containers) == 1, workload["metadata"]["name"]
    return containers[0]


def component(workload: dict) -> str:
    return workload["metadata"]["labels"][COMPONENT]


def service_of(workload: dict) -> str:
    return workload["metadata"]["labels"][NAME]


def kapbook_workloads() -> list[dict]:
    """The Deployments and Jobs that run our image (every one but the gateway's)."""
    return [w for w in of_kind("Deployment") + of_kind("Job") if service_of(w) in CONFIGS]


def deployments(of: str) -> dict[str, dict]:
    return {name: d for name, d in named("Deployment").items() if component(d) == of}


def env_config_maps(container: dict) -> list[str]:
    return [source["configMapRef"]["name"] for source in container.get("envFrom", [])]


def environment(container: dict) -> dict[str, object]:
    """Every variable a container gets: ConfigMap values as strings, Secret references as (secret, key, optional)."""
    config_maps = named("ConfigMap")
    values: dict[str, object] = {}
    for name in env_config_maps(container):
        values |= config_maps[name]["data"]
    for entry in container.get("env", []):
        if "value" in entry:
            values[entry["name"]] = entry["value"]
        else:
            ref = entry["valueFrom"]["secretKeyRef"]
            values[entry["name"]] = (ref["name"], ref["key"], ref.get("optional", False))
    return values


def secret_references() -> set[tuple[str, str, bool]]:
    return {value for w in kapbook_workloads() for value in environment(only_container(w)).values()
            if isinstance(value, tuple)}


def compose() -> dict:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())["services"]


def bound_port(command: list[str]) -> int:
    return int(command[command.index("--bind") + 1].rsplit(":", 1)[1])


def container_port(container: dict, port: int | str) -> int:
    if isinstance(port, int):
        return port
    return one([p["containerPort"] for p in container["ports"] if p["name"] == port])


def one(items: list):
    assert len(items) == 1, items
    return items[0]


def selects(selector: dict, labels: dict) -> bool:
    return selector.items() <= labels.items()


# --- The Kubernetes API schemas -----------------------------------------------------------------

def test_every_manifest_is_a_valid_object_of_the_kubernetes_api():
    documents = manifests()
    kinds = {document["kind"] for document in documents}
    assert {"Namespace", "ConfigMap", "Deployment", "Service", "HorizontalPodAutoscaler", "PodDisruptionBudget",
            "Job", "Ingress"} <= kinds, kinds
    for document in documents:
        # strict: a field the API does not have (a typo such as readinesProbe) is an error too.
        kubernetes_validate.validate(document, KUBERNETES_VERSION, strict=True)


def test_the_validator_refuses_a_misspelt_field_and_a_wrong_type():
    """The check above can fail: a broken copy of a real Deployment is refused."""
    deployment = named("Deployment")["booking"]
    misspelt = copy.deepcopy(deployment)
    container = only_container(misspelt)
    container["readinesProbe"] = container.pop("readinessProbe")
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(misspelt, KUBERNETES_VERSION, strict=True)
    wrong_type = copy.deepcopy(deployment)
    only_container(wrong_type)["ports"][0]["containerPort"] = "eight thousand"
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(wrong_type, KUBERNETES_VERSION, strict=True)


def test_every_object_lives_in_the_kapbook_namespace():
    for document in manifests():
        if document["kind"] != "Namespace":
            assert document["metadata"].get("namespace") == "kapbook", document["metadata"]["name"]
    assert [n["metadata"]["name"] for n in of_kind("Namespace")] == ["kapbook"]


# --- Kustomize: two stages, every file in one of them --------------------------------------------

def kustomization(folder: Path) -> dict:
    return yaml.safe_load((folder / "kustomization.yaml").read_text())


def files_reached(folder: Path) -> list[Path]:
    """The manifest files a kustomization applies, following the folders it includes."""
    found = []
    for resource in kustomization(folder)["resources"]:
        path = (folder / resource).resolve()
        assert path.exists(), f"{folder}/kustomization.yaml lists {resource}, which does not exist"
        found += files_reached(path) if path.is_dir() else [path]
    return found


def test_the_two_kustomizations_apply_every_manifest_and_the_jobs_only_in_the_first_stage():
    services = files_reached(KUBERNETES)
    migrations = files_reached(KUBERNETES / "migrate")
    assert len(services) == len(set(services)) and len(migrations) == len(set(migrations))
    assert set(services) | set(migrations) == set(manifest_files()), "a manifest no kustomization applies"
    assert not [d for path in services for d in load(path) if d["kind"] == "Job"], "Jobs run before the services"
    assert {d["kind"] for path in migrations for d in load(path)} == {"Namespace", "ConfigMap", "Job"}
    for folder in (KUBERNETES, KUBERNETES / "migrate"):
        assert [image["name"] for image in kustomization(folder)["images"]] == ["kapbook"]
    assert kustomization(KUBERNETES)["images"] == kustomization(KUBERNETES / "migrate")["images"]


@pytest.mark.skipif(shutil.which("kubectl") is None, reason="kubectl (with its built-in kustomize) is not installed")
def test_kustomize_builds_both_stages_into_the_objects_of_the_files():
    for folder in (KUBERNETES, KUBERNETES / "migrate"):
        built = subprocess.run(["kubectl", "kustomize", str(folder)], capture_output=True, text=True, check=True)
        objects = {(d["kind"], d["metadata"]["name"]) for d in yaml.safe_load_all(built.stdout)}
        expected = {(d["kind"], d["metadata"]["name"]) for path in files_reached(folder) for d in load(path)}
        assert objects == expected, folder


# --- Design rules ---------------------------------------------------------------------------------

def test_every_workload_has_resources_and_runs_as_a_non_root_user_on_a_read_only_root():
    for workload in of_kind("Deployment") + of_kind("Job"):
        name = workload["metadata"]["name"]
        pod = pod_template(workload)["spec"]
        assert pod["securityContext"]["runAsNonRoot"] is True, name
        assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}, name
        assert pod["automountServiceAccountToken"] is False, name
        container = only_container(workload)
        assert {"cpu", "memory"} <= set(container["resources"]["requests"]), name
        assert "memory" in container["resources"]["limits"], name
        security = container["securityContext"]
        assert security["allowPrivilegeEscalation"] is False and security["readOnlyRootFilesystem"] is True, name
        assert security["capabilities"]["drop"] == ["ALL"], name


def test_every_deployment_has_readiness_and_liveness_probes():
    for name, deployment in named("Deployment").items():
        container = only_container(deployment)
        assert "readinessProbe" in container and "livenessProbe" in container, name


def test_web_pods_are_ready_on_readyz_and_alive_on_healthz_of_the_port_gunicorn_binds():
    web = deployments("web")
    assert set(web) == set(CONFIGS)
    for name, deployment in web.items():
        container = only_container(deployment)
        port = bound_port(container["command"])
        for probe, path in (("readinessProbe", "/readyz"), ("livenessProbe", "/healthz"), ("startupProbe", "/healthz")):
            check = container[probe]["httpGet"]
            assert check["path"] == path and container_port(container, check["port"]) == port, (name, probe)


def mounted_writable(workload: dict, path: str) -> bool:
    volumes = {v["name"]: v for v in pod_template(workload)["spec"]["volumes"]}
    return any(Path(path).is_relative_to(mount["mountPath"]) and "emptyDir" in volumes[mount["name"]]
               for mount in only_container(workload)["volumeMounts"])


def test_worker_probes_run_the_heartbeat_check_on_the_folder_the_worker_beats_in():
    workers = deployments("worker")
    assert set(workers) == {f"{name}-worker" for name in CONFIGS}
    var_dir = named("ConfigMap")["kapbook-config"]["data"]["KAPBOOK_VAR_DIR"]
    for name, worker in workers.items():
        container = only_container(worker)
        service = service_of(worker)
        config = CONFIGS[service](var_dir=Path(environment(container)["KAPBOOK_VAR_DIR"]))
        beats_in = heartbeat_path(SimpleNamespace(config=config))
        expected = ["python", "-m", "kapbook_platform.heartbeat", str(beats_in.parent)]
        for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
            assert container[probe]["exec"]["command"] == expected, (name, probe)
        assert str(beats_in.parent) == f"{var_dir}/heartbeats"
        assert mounted_writable(worker, str(beats_in)), f"{name} could not write its heartbeat"
        assert compose()[name]["healthcheck"]["test"] == ["CMD", *expected], "the same check as compose"


def test_the_heartbeat_probe_command_passes_on_a_fresh_beat_and_fails_on_a_stale_one(tmp_path):
    command = only_container(deployments("worker")["booking-worker"])["livenessProbe"]["exec"]["command"]
    folder = tmp_path / "heartbeats"
    probe = [sys.executable, *command[1:-1], str(folder)]
    beat(folder / "booking")
    assert subprocess.run(probe, check=False).returncode == 0
    os.utime(folder / "booking", (0, 0))  # last touched in 1970
    assert subprocess.run(probe, check=False).returncode == 1


def test_the_root_filesystem_is_read_only_yet_the_app_can_write_where_it_must():
    """gunicorn's control socket ($HOME/.gunicorn) and worker files (/tmp); the workers' heartbeats."""
    for workload in kapbook_workloads():
        home = "/home/kapbook"
        for path in (f"{home}/.gunicorn/gunicorn.ctl", "/tmp/wgunicorn-x", f"{home}/var/heartbeats/x"):
            assert mounted_writable(workload, path), (workload["metadata"]["name"], path)
    gateway = named("Deployment")["gateway"]
    assert mounted_writable(gateway, "/tmp/nginx.pid") and mounted_writable(gateway, "/var/cache/nginx/x")


def test_no_variable_is_given_a_literal_secret_or_a_url_with_credentials():
    env_maps = {name for w in kapbook_workloads() for name in env_config_maps(only_container(w))}
    for name in env_maps:
        for key, value in named("ConfigMap")[name]["data"].items():
            assert not SECRET_LIKE.search(key) and key not in URLS_WITH_PASSWORDS, (name, key)
            assert not CREDENTIALS_IN_URL.search(str(value)), (name, key)
    for workload in of_kind("Deployment") + of_kind("Job"):
        for entry in only_container(workload).get("env", []):
            if "value" in entry:
                assert not SECRET_LIKE.search(entry["name"]), (workload["metadata"]["name"], entry["name"])
                assert not CREDENTIALS_IN_URL.search(entry["value"]), (workload["metadata"]["name"], entry["name"])
        assert all("secretRef" not in source for source in only_container(workload).get("envFrom", [])), \
            "secretKeyRef one by one, so each pod gets only the keys it names"


def test_every_secret_and_every_url_with_a_password_comes_from_a_secret_key_of_its_own_name():
    for workload in kapbook_workloads():
        config = CONFIGS[service_of(workload)]
        secret_settings = {f.metadata["env"] for f in dataclasses.fields(config)
                           if "env" in f.metadata and (f.metadata.get("secret") or SECRET_LIKE.search(f.metadata["env"]))}
        for variable, value in environment(only_container(workload)).items():
            if variable in secret_settings | URLS_WITH_PASSWORDS:
                assert isinstance(value, tuple) and value[1] == variable, (workload["metadata"]["name"], variable)
        required = {f"{service_of(workload).upper()}_DATABASE_URL", "KAPBOOK_BROKER_URL", "KAPBOOK_RATE_LIMIT_STORAGE",
                    "KAPBOOK_SERVICE_TOKEN"}
        assert required <= set(environment(only_container(workload))), workload["metadata"]["name"]


def documented_secrets() -> set[tuple[str, str, bool]]:
    """(secret, key, optional) from docs/SECRETS.md's "In Kubernetes" table."""
    text = (ROOT / "docs" / "SECRETS.md").read_text()
    section = text.split("\n## In Kubernetes\n", 1)[1].split("\n## ", 1)[0]
    rows = set()
    for secret, keys in re.findall(r"^\| `([\w.-]+)` \| (.+?) \|", section, flags=re.MULTILINE):
        for key, optional in re.findall(r"`([\w.]+)`( \(optional\))?", keys):
            if not key.startswith("kubernetes.io"):
                rows.add((secret, key, bool(optional)))
    return rows


def test_docs_secrets_lists_exactly_the_secret_keys_the_manifests_read():
    tls = {(entry["secretName"], key, False) for ingress in of_kind("Ingress") for entry in ingress["spec"]["tls"]
           for key in ("tls.crt", "tls.key")}
    assert documented_secrets() == secret_references() | tls
    assert {secret for secret, _, _ in secret_references()} == {"kapbook-secrets", *(f"{s}-secrets" for s in CONFIGS)}


def test_each_service_gets_only_its_own_secrets():
    for workload in kapbook_workloads():
        secrets = {value[0] for value in environment(only_container(workload)).values() if isinstance(value, tuple)}
        assert secrets == {"kapbook-secrets", f"{service_of(workload)}-secrets"}, workload["metadata"]["name"]


def test_every_variable_the_manifests_set_is_one_the_services_config_reads():
    for workload in kapbook_workloads():
        known = set(CONFIGS[service_of(workload)].environment_variables())
        unknown = set(environment(only_container(workload))) - known
        assert not unknown, f"{workload['metadata']['name']} sets variables no config reads: {sorted(unknown)}"


def test_web_worker_and_migration_of_a_service_get_the_same_settings():
    for service in CONFIGS:
        settings = [environment(only_container(w)) for w in kapbook_workloads() if service_of(w) == service]
        assert len(settings) == 3 and all(s == settings[0] for s in settings), service


def secret_values() -> dict[str, str]:
    """What an operator puts in the Secrets: fresh random secrets and the URLs of managed services."""
    values = dict(line.split("=", 1) for line in compose_env().splitlines())
    password = values["POSTGRES_PASSWORD"]
    values["KAPBOOK_RATE_LIMIT_STORAGE"] = f"rediss://:{password}@redis.internal:6379/0"
    for service in CONFIGS:
        values[f"{service.upper()}_DATABASE_URL"] = f"postgresql+psycopg://{service}:{password}@db.internal:5432/{service}"
    return values


def resolved(container: dict, secrets: dict[str, str], broker_password: str) -> dict[str, str]:
    """The environment the container would see, optional keys left out as an operator may."""
    values = {}
    for variable, value in environment(container).items():
        if not isinstance(value, tuple):
            values[variable] = str(value)
        elif variable == "KAPBOOK_BROKER_URL":
            values[variable] = f"amqps://{container['name'].split('-')[0]}:{broker_password}@mq.internal:5671/%2Fkapbook"
        elif not value[2]:
            values[variable] = secrets[value[1]]
    return values


def test_with_their_secrets_the_manifests_are_a_production_config_every_service_starts_on():
    secrets = secret_values()
    for workload in kapbook_workloads():
        config_class = CONFIGS[service_of(workload)]
        env = resolved(only_container(workload), secrets, secrets["RABBITMQ_BOOKING_PASSWORD"])
        assert "KAPBOOK_LOCAL_TRIAL" not in env, "a real deployment: production rules in full"
        if config_class is BookingConfig:
            # Left out on purpose: production refuses the placeholder until the clinic names its own.
            with pytest.raises(ConfigError, match="BOOKING_VIDEO_ROOM_TEMPLATE"):
                config_class.from_env(env)
            env["BOOKING_VIDEO_ROOM_TEMPLATE"] = "https://video.clinic.example/{room}"
        config = config_class.from_env(env)
        assert config.is_production and not config.local_trial, workload["metadata"]["name"]
        assert config.public_base_url.startswith("https://")


def test_the_forwarded_headers_trusted_are_the_ingress_controllers_and_the_gateways():
    assert of_kind("Ingress"), "two proxies in front of each service: the Ingress controller and the gateway"
    assert named("ConfigMap")["kapbook-config"]["data"]["KAPBOOK_TRUSTED_PROXIES"] == "2"


def test_containers_run_docker_composes_image_and_commands():
    services = compose()
    for name, deployment in {**deployments("web"), **deployments("worker")}.items():
        container = only_container(deployment)
        assert container["command"] == services[name]["command"], name
        assert container["image"] == services[name]["image"], name
    migrate = services["migrate"]["command"]
    assert migrate[:2] == ["sh", "-c"]
    steps = migrate[2].split(" && ")
    jobs = {" ".join(only_container(job)["command"]) for job in of_kind("Job")}
    assert jobs == {step for step in steps if step.endswith(" migrate")}, "seed-demo is for the trial only"
    assert {only_container(job)["image"] for job in of_kind("Job")} == {services["migrate"]["image"]}


def test_every_web_deployment_has_a_cpu_autoscaler_and_every_deployment_a_disruption_budget():
    autoscalers = of_kind("HorizontalPodAutoscaler")
    budgets = of_kind("PodDisruptionBudget")
    for name, deployment in named("Deployment").items():
        labels = pod_template(deployment)["metadata"]["labels"]
        assert selects(deployment["spec"]["selector"]["matchLabels"], labels), name
        matching = [b for b in budgets if selects(b["spec"]["selector"]["matchLabels"], labels)]
        assert len(matching) == 1 and matching[0]["spec"]["maxUnavailable"] == 1, name
    for name, deployment in {**deployments("web"), "gateway": named("Deployment")["gateway"]}.items():
        hpa = one([a for a in autoscalers if a["spec"]["scaleTargetRef"]["name"] == name])
        assert hpa["apiVersion"] == "autoscaling/v2" and hpa["spec"]["scaleTargetRef"]["kind"] == "Deployment"
        assert one(hpa["spec"]["metrics"])["resource"]["name"] == "cpu", name
        assert 2 <= hpa["spec"]["minReplicas"] < hpa["spec"]["maxReplicas"], name
        assert "replicas" not in deployment["spec"], f"{name}: the autoscaler owns the count"
    for name, worker in deployments("worker").items():
        assert worker["spec"]["replicas"] >= 2, name


def nginx_upstreams() -> dict[str, tuple[str, int]]:
    text = (ROOT / "deploy" / "nginx.conf").read_text()
    return {name: (host, int(port)) for name, host, port in re.findall(r"upstream (\w+) \{ server ([\w-]+):(\d+); \}", text)}


def test_the_gateway_serves_deploy_nginx_conf_and_reaches_each_web_deployment_through_its_service():
    gateway_conf = named("ConfigMap")["gateway-nginx"]["data"]["default.conf"]
    assert gateway_conf == (ROOT / "deploy" / "nginx.conf").read_text(), "copy deploy/nginx.conf into gateway.yaml"
    services, web = named("Service"), deployments("web")
    for upstream, (host, port) in nginx_upstreams().items():
        service = services[host]
        target = one([p for p in service["spec"]["ports"] if p["port"] == port])
        deployment = one([d for d in web.values() if selects(service["spec"]["selector"], pod_template(d)["metadata"]["labels"])])
        container = only_container(deployment)
        assert container_port(container, target["targetPort"]) == bound_port(container["command"]), upstream
    gateway = named("Deployment")["gateway"]
    mount = one([m for m in only_container(gateway)["volumeMounts"] if m["name"] == "nginx-conf"])
    assert mount["mountPath"] == "/etc/nginx/conf.d"
    volume = one([v for v in pod_template(gateway)["spec"]["volumes"] if v["name"] == mount["name"]])
    assert volume["configMap"]["name"] == "gateway-nginx"
    listen = int(re.search(r"listen (\d+);", gateway_conf).group(1))
    assert container_port(only_container(gateway), "http") == listen
    backend = one(one(one(of_kind("Ingress"))["spec"]["rules"])["http"]["paths"])["backend"]["service"]
    assert backend["name"] == "gateway" and one(services["gateway"]["spec"]["ports"])["name"] == backend["port"]["name"]


def test_rollout_runs_the_migration_jobs_to_completion_before_applying_the_services():
    script = (KUBERNETES / "rollout.sh").read_text()
    steps = ["delete job -l app.kubernetes.io/component=migrate", 'apply -k "$here/migrate"',
             "wait --for=condition=complete job -l app.kubernetes.io/component=migrate", 'apply -k "$here"\n']
    positions = [script.index(step) for step in steps]
    assert positions == sorted(positions), "delete old Jobs, run the new ones, wait, then the services"
    awaited = re.search(r"for deployment in ([\w -]+); do", script).group(1).split()
    assert sorted(awaited) == sorted(named("Deployment"))
    assert all(job["metadata"]["labels"][COMPONENT] == "migrate" for job in of_kind("Job"))


def test_readme_links_the_scaling_page_which_covers_each_limit():
    readme = (ROOT / "README.md").read_text()
    section = readme.split("\n## Running the production shape with docker compose\n", 1)[1].split("\n## ", 1)[0]
    assert "docs/SCALING.md" in section and "deploy/kubernetes" in section
    page = (ROOT / "docs" / "SCALING.md").read_text()
    for heading in ("### PostgreSQL", "### RabbitMQ: quorum queues", "### SMTP", "### Redis", "### Workers"):
        assert heading in page, heading
