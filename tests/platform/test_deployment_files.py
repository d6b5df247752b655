"""No Docker engine here: check the compose file itself against the code it deploys."""
from __future__ import annotations

import json
import re
from pathlib import Path
from urllib.parse import unquote, urlsplit

import yaml

from kapbook_booking.config import BookingConfig
from kapbook_eligibility.config import EligibilityConfig
from kapbook_platform.messaging.topology import SUBSCRIPTIONS, Topology
from kapbook_reminders.config import RemindersConfig

ROOT = Path(__file__).resolve().parents[2]
CONFIGS = {"booking": BookingConfig, "eligibility": EligibilityConfig, "reminders": RemindersConfig}


def compose() -> dict:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def our_services() -> dict[str, dict]:
    """The containers built from our Dockerfile (not postgres, rabbitmq, mailpit, nginx)."""
    return {name: spec for name, spec in compose()["services"].items() if spec.get("build")}


def nginx_routes() -> dict[str, tuple[str, int]]:
    """Location prefix -> (upstream host, port) from deploy/nginx.conf."""
    text = (ROOT / "deploy" / "nginx.conf").read_text()
    upstreams = {name: (host, int(port)) for name, host, port in re.findall(r"upstream (\w+) \{ server ([\w-]+):(\d+); \}", text)}
    return {prefix: upstreams[name] for prefix, name in re.findall(r"location (/[\w/]*) \{ proxy_pass http://(\w+); \}", text)}


def config_for(service_name: str):
    return CONFIGS[service_name.removesuffix("-worker")]


def bound_port(command: list[str]) -> int | None:
    if "--bind" not in command:
        return None
    return int(command[command.index("--bind") + 1].rsplit(":", 1)[1])


def test_compose_parses_and_every_container_has_a_health_check():
    services = compose()["services"]
    assert {"postgres", "rabbitmq", "mailpit", "gateway", "booking", "eligibility", "reminders"} <= set(services)
    assert all("healthcheck" in spec for spec in services.values()), [n for n, s in services.items() if "healthcheck" not in s]


def test_every_variable_set_for_a_service_is_one_its_config_reads():
    for name, spec in our_services().items():
        if name == "migrate":
            known = set().union(*(config.environment_variables() for config in CONFIGS.values()))
        else:
            known = set(config_for(name).environment_variables())
        unknown = set(spec["environment"]) - known
        assert not unknown, f"{name} sets variables no config reads: {sorted(unknown)}"


def test_each_service_gets_its_own_database_and_the_secrets_production_requires():
    services = our_services()
    for name in ("booking", "eligibility", "reminders"):
        environment = services[name]["environment"]
        database = environment[f"{name.upper()}_DATABASE_URL"]
        assert database.startswith("postgresql+psycopg://") and database.endswith(f"/{name}")
        assert environment["KAPBOOK_BROKER_URL"].startswith("amqp://")
        assert environment["KAPBOOK_ENV"] == "production"
    assert services["booking"]["environment"]["BOOKING_SECRET_KEY"].startswith("${")
    assert services["eligibility"]["environment"]["ELIGIBILITY_ENCRYPTION_KEYS"].startswith("${")


def test_gateway_paths_and_ports_agree_with_the_services():
    routes = nginx_routes()
    services = our_services()
    for name in CONFIGS:
        host, port = routes[f"/api/{name}/"]
        assert host == name and bound_port(services[name]["command"]) == port
    assert routes["/"][0] == "booking", "pages (demo, manage, staff) are served by booking"
    assert "8080:8080" in compose()["services"]["gateway"]["ports"]


def test_services_serve_their_routes_under_their_own_prefix():
    from kapbook_booking.entrypoints.app import create_app as booking_app
    from kapbook_eligibility.entrypoints.app import create_app as eligibility_app
    from kapbook_reminders.entrypoints.app import create_app as reminders_app
    from kapbook_booking.bootstrap import bootstrap as booking_bootstrap
    from kapbook_eligibility.bootstrap import bootstrap as eligibility_bootstrap
    from kapbook_reminders.bootstrap import bootstrap as reminders_bootstrap

    factories = {"booking": (booking_app, booking_bootstrap), "eligibility": (eligibility_app, eligibility_bootstrap),
                 "reminders": (reminders_app, reminders_bootstrap)}
    for name, (create_app, bootstrap) in factories.items():
        app = create_app(bootstrap(CONFIGS[name](database_url="sqlite://", env="test")))
        api_rules = [r.rule for r in app.url_map.iter_rules() if r.rule.startswith("/api/")]
        assert api_rules and all(rule.startswith(f"/api/{name}/") for rule in api_rules), api_rules


def test_readme_documents_every_configuration_variable():
    readme = (ROOT / "README.md").read_text()
    variables = set().union(*(config.environment_variables() for config in CONFIGS.values()))
    missing = sorted(name for name in variables if f"`{name}`" not in readme)
    assert not missing, f"README's configuration table misses {missing}"


def interpolated(environment: dict[str, str], values: dict[str, str]) -> dict[str, str]:
    """What compose passes: ${NAME:?message}, ${NAME:-default} and ${NAME} replaced from ``values`` (.env)."""
    def replace(match: re.Match) -> str:
        name, default = match.group(1), match.group(3)
        if name in values:
            return values[name]
        assert match.group(2) == ":-", f"{name} is required and .env lacks it"
        return default
    return {name: re.sub(r"\$\{(\w+)(?:(:\?|:-)([^}]*))?\}", replace, str(value)) for name, value in environment.items()}


def compose_dot_env() -> dict[str, str]:
    from kapbook_platform.devtools import compose_env

    return dict(line.split("=", 1) for line in compose_env().splitlines())


def test_compose_with_make_compose_env_is_a_production_config_every_service_starts_on():
    values = compose_dot_env()
    for name, spec in our_services().items():
        environment = interpolated(spec["environment"], values)
        assert environment["KAPBOOK_ENV"] == "production"
        classes = CONFIGS.values() if name == "migrate" else [config_for(name)]
        for config_class in classes:
            config = config_class.from_env(environment)
            assert config.is_production and config.rate_limit_storage.startswith("redis://"), name


def test_compose_env_secrets_are_long_enough_for_production():
    from kapbook_platform.config import MIN_SECRET_LENGTH

    values = compose_dot_env()
    assert set(values) >= {"KAPBOOK_SERVICE_TOKEN", "BOOKING_SECRET_KEY", "ELIGIBILITY_ENCRYPTION_KEYS",
                           "POSTGRES_PASSWORD", "RABBITMQ_BOOKING_PASSWORD", "RABBITMQ_ELIGIBILITY_PASSWORD",
                           "RABBITMQ_REMINDERS_PASSWORD"}
    assert all(len(value) >= MIN_SECRET_LENGTH for value in values.values()), {k: len(v) for k, v in values.items()}


def test_the_rate_limit_store_is_a_compose_service_with_a_health_check_and_the_web_services_wait_for_it():
    services = compose()["services"]
    for name, spec in our_services().items():
        storage = spec["environment"]["KAPBOOK_RATE_LIMIT_STORAGE"]
        host = re.match(r"redis://([\w-]+):\d+", storage).group(1)
        assert host in services and "healthcheck" in services[host], storage
        assert services[host]["image"].startswith("redis:")
        assert not services[host].get("ports"), "Redis is reached on the compose network only"
        if name != "migrate":
            assert spec["depends_on"][host] == {"condition": "service_healthy"}, name


def test_mailpit_ui_is_published_on_loopback_only():
    for port in compose()["services"]["mailpit"].get("ports", []):
        assert str(port).startswith("127.0.0.1:"), port


def test_only_the_local_trial_opt_out_relaxes_production_and_compose_says_so():
    text = (ROOT / "docker-compose.yml").read_text()
    for name, spec in our_services().items():
        assert str(spec["environment"]["KAPBOOK_LOCAL_TRIAL"]) == "1", name
    assert "A real deployment removes it" in text


def test_forwarded_headers_are_believed_only_where_a_proxy_is_in_front():
    """Default 0 (a client reaching a service directly cannot choose its own address or scheme);
    nginx in compose and the make run gateway are one hop, and both say so."""
    assert all(config().trusted_proxies == 0 for config in CONFIGS.values())
    for name in ("booking", "eligibility", "reminders"):
        assert str(our_services()[name]["environment"]["KAPBOOK_TRUSTED_PROXIES"]) == "1", name
    run = (ROOT / "scripts" / "run.sh").read_text()
    assert 'export KAPBOOK_TRUSTED_PROXIES="${KAPBOOK_TRUSTED_PROXIES:-1}"' in run
    assert "| `KAPBOOK_TRUSTED_PROXIES` |" in (ROOT / "README.md").read_text()


# --- The broker: one user per service, nothing published (issue 14, finding 7) -----------------

BROKER_SERVICES = ("booking", "eligibility", "reminders")
# Which event families each service publishes to kapbook.events (its outbox's routing keys).
PUBLISHES = {"booking": ("booking", "staff", "series", "patient", "webhook"), "eligibility": ("screening",), "reminders": ()}


def definitions() -> dict:
    return json.loads((ROOT / "deploy" / "rabbitmq-definitions.json").read_text())


def one_for(items: list[dict], **match) -> dict:
    found = [item for item in items if all(item.get(key) == value for key, value in match.items())]
    assert len(found) == 1, (match, found)
    return found[0]


def test_the_broker_publishes_no_port_and_its_guest_user_is_loopback_only():
    rabbitmq = compose()["services"]["rabbitmq"]
    assert not rabbitmq.get("ports"), "RabbitMQ (AMQP and the management UI on 15672) is reached on the compose network only"
    assert not any("15672" in str(port) for spec in compose()["services"].values() for port in spec.get("ports", []))
    assert "RABBITMQ_DEFAULT_USER" not in rabbitmq["environment"] and "RABBITMQ_DEFAULT_PASS" not in rabbitmq["environment"]
    conf = (ROOT / "deploy" / "rabbitmq.conf").read_text().splitlines()
    assert "loopback_users.guest = true" in conf
    assert "load_definitions = /tmp/kapbook-definitions.json" in conf
    assert all(user["name"] != "guest" for user in definitions()["users"])


def test_each_service_and_its_worker_reach_the_broker_as_their_own_user_on_the_kapbook_vhost():
    values = compose_dot_env()
    for name, spec in our_services().items():
        service = "booking" if name == "migrate" else name.removesuffix("-worker")
        url = urlsplit(interpolated(spec["environment"], values)["KAPBOOK_BROKER_URL"])
        assert url.username == service, (name, url.username)
        assert url.password == values[f"RABBITMQ_{service.upper()}_PASSWORD"]
        assert unquote(url.path[1:]) == "/kapbook" and url.hostname == "rabbitmq"
    passwords = {values[f"RABBITMQ_{service.upper()}_PASSWORD"] for service in BROKER_SERVICES}
    assert len(passwords) == 3, "make compose-env gives every broker user a password of its own"


def test_the_broker_container_renders_each_users_password_from_the_environment():
    rabbitmq = compose()["services"]["rabbitmq"]
    start = (ROOT / "deploy" / "rabbitmq-start.sh").read_text()
    users = {user["name"]: user for user in definitions()["users"]}
    assert set(users) == set(BROKER_SERVICES)
    for service in BROKER_SERVICES:
        variable = f"RABBITMQ_{service.upper()}_PASSWORD"
        assert users[service]["password"] == f"@{variable}@" and users[service]["tags"] == []
        assert rabbitmq["environment"][variable] == f"${{{variable}:?run make compose-env}}"
        assert f"s|@{variable}@|${{{variable}:?}}|" in start
    mounts = {volume.split(":")[1] for volume in rabbitmq["volumes"]}
    assert {"/etc/kapbook/rabbitmq-definitions.json", "/etc/kapbook/rabbitmq-start.sh",
            "/etc/rabbitmq/conf.d/20-kapbook.conf"} <= mounts
    assert rabbitmq["entrypoint"] == ["sh", "/etc/kapbook/rabbitmq-start.sh"]


def test_the_definitions_declare_the_topology_the_services_declare():
    """Services may configure only their own queue, so the broker must hold the rest as the code declares it."""
    topology = Topology(namespace="kapbook", quorum=True)
    data = definitions()
    assert data["vhosts"] == [{"name": "/kapbook"}]
    assert {e["name"] for e in data["exchanges"]} == {topology.events_exchange.name, topology.dead_letter_exchange.name}
    assert all(e["type"] == "topic" and e["durable"] and e["vhost"] == "/kapbook" for e in data["exchanges"])
    for queue in topology.all_queues():
        declared = one_for(data["queues"], name=queue.name)
        assert declared["arguments"] == queue.queue_arguments and declared["durable"], queue.name
        expected = {(b.exchange.name, b.routing_key) for b in (queue.bindings or [queue])}
        bound = {(b["source"], b["routing_key"]) for b in data["bindings"] if b["destination"] == queue.name}
        assert bound == expected, queue.name
    assert len(data["queues"]) == len(topology.all_queues())


def test_each_broker_user_may_touch_only_its_own_queue_and_publish_only_its_own_events():
    data = definitions()
    every_name = ["kapbook.events", "kapbook.dead-letter", *(f"kapbook.{service}" for service in BROKER_SERVICES)]
    for service in BROKER_SERVICES:
        grant = one_for(data["permissions"], user=service, vhost="/kapbook")
        allowed = {kind: {name for name in every_name if re.search(grant[kind], name)} for kind in ("configure", "write", "read")}
        assert allowed["configure"] == {f"kapbook.{service}"}, (service, allowed)
        publishes = {"kapbook.events"} if PUBLISHES[service] else set()
        assert allowed["write"] == publishes | {"kapbook.dead-letter", f"kapbook.{service}"}, (service, allowed)
        assert allowed["read"] == {"kapbook.events", f"kapbook.{service}"}, (service, allowed)
        topic = one_for(data["topic_permissions"], user=service, exchange="kapbook.events")
        for family in ("booking", "screening", "staff", "series", "patient", "webhook"):
            permitted = re.search(topic["write"], f"{family}.anything.v1") is not None
            assert permitted == (family in PUBLISHES[service]), (service, family)
        assert all(re.search(topic["read"], key) for key in SUBSCRIPTIONS[service]), service
    assert [g["user"] for g in data["permissions"]].count("booking") == 1
    staff_writers = [t["user"] for t in data["topic_permissions"] if re.search(t["write"], "staff.credential_issued.v1")]
    assert staff_writers == ["booking"], "only booking may publish staff credential events"
