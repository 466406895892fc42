"""The deployment kit does not rot: the compose file, units, proxy and alert rules parse, say what they
must (hardening, limits, private logs), and agree with the code (commands, settings, metric names).

`systemd-analyze verify` checks the units where systemd is installed; `docker compose config` the compose
file where Docker's compose plugin is (neither is required: the structural checks below always run)."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml
from django.conf import settings

PROJECT = Path(__file__).resolve().parents[3]
DEPLOY = PROJECT / "deploy"
UNITS = sorted((DEPLOY / "systemd").glob("*.service"))
HARDENING = {
    "NoNewPrivileges": "yes",
    "ProtectSystem": "strict",
    "ProtectHome": "yes",
    "PrivateTmp": "yes",
    "User": "amparo",
    "CapabilityBoundingSet": "",
    "UMask": "0077",
}


def unit_settings(path: Path) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    text = path.read_text().replace("\\\n", " ")
    for line in text.splitlines():
        if "=" in line and not line.lstrip().startswith(("#", "[")):
            key, _, value = line.partition("=")
            found.setdefault(key.strip(), []).append(value.strip())
    return found


def test_there_are_units_for_the_web_server_both_workers_and_backups():
    assert {p.name for p in UNITS} == {
        "amparo-web.service",
        "amparo-worker.service",
        "amparo-worker-periodic.service",
        "amparo-backup.service",
    }
    assert (DEPLOY / "systemd" / "amparo-backup.timer").exists()


@pytest.mark.parametrize("unit", UNITS, ids=lambda p: p.name)
def test_every_unit_is_hardened_and_runs_as_the_dedicated_user(unit):
    found = unit_settings(unit)
    for key, value in HARDENING.items():
        assert found.get(key) == [value], f"{unit.name}: {key}"
    assert found["ReadWritePaths"][0].split()[0] == "/var/lib/amparo"
    if unit.name != "amparo-backup.service":
        assert found["Restart"][0] in {"always", "on-failure"}


def test_the_workers_run_one_queue_each_and_the_web_server_gunicorn_with_private_logs():
    web = unit_settings(DEPLOY / "systemd" / "amparo-web.service")["ExecStart"][0]
    assert "gunicorn amparo.wsgi:application" in web
    assert "%(U)s" in web  # the path without its query string
    assert "%(r)s" not in web
    assert "%(q)s" not in web
    assert "%(h)s" not in web
    for unit, queue in (("amparo-worker", "default"), ("amparo-worker-periodic", "periodic")):
        command = unit_settings(DEPLOY / "systemd" / f"{unit}.service")["ExecStart"][0]
        assert command.endswith(f"amparo worker --queue-name {queue}")
    backup = unit_settings(DEPLOY / "systemd" / "amparo-backup.service")
    assert "backup create -o /var/backups/amparo --verify" in backup["ExecStart"][0]
    assert "--keep-daily 7 --keep-weekly 5 --keep-monthly 12" in backup["ExecStartPost"][0]


@pytest.mark.skipif(not shutil.which("systemd-analyze"), reason="systemd-analyze is not installed")
def test_systemd_analyze_verify_accepts_the_units(tmp_path):
    """Verified with the paths pointed at this checkout (verify checks that ExecStart's program exists)."""
    venv = Path(
        shutil.which("python", path=str(PROJECT / ".venv" / "bin")) or "/usr/bin/python3"
    ).parent.parent
    for unit in [*UNITS, DEPLOY / "systemd" / "amparo-backup.timer"]:
        text = unit.read_text().replace("/opt/amparo/.venv", str(venv)).replace("/opt/amparo", str(PROJECT))
        (tmp_path / unit.name).write_text(text)
    result = subprocess.run(  # noqa: S603
        [
            shutil.which("systemd-analyze") or "systemd-analyze",
            "verify",
            *sorted(str(p) for p in tmp_path.iterdir()),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    # A host without PostgreSQL installed may mention its unit, which the units only order themselves after.
    problems = [
        line for line in result.stderr.splitlines() if line.strip() and "postgresql.service" not in line
    ]
    assert result.returncode == 0, result.stderr
    assert problems == [], result.stderr


def test_compose_runs_amparo_its_workers_postgresql_and_the_proxy_from_the_dockerfile():
    compose = yaml.safe_load((DEPLOY / "compose.yaml").read_text())
    services = compose["services"]
    assert set(services) == {"web", "worker", "worker-periodic", "db", "proxy"}
    for name in ("web", "worker", "worker-periodic"):
        service = services[name]
        assert service["build"] == {"context": "..", "dockerfile": "Dockerfile"}
        assert service["read_only"] is True
        assert service["cap_drop"] == ["ALL"]
        assert "no-new-privileges:true" in service["security_opt"]
    assert services["worker"]["command"] == ["amparo", "worker", "--queue-name", "default"]
    assert services["worker-periodic"]["command"] == ["amparo", "worker", "--queue-name", "periodic"]
    assert services["db"]["image"].startswith("postgres:")
    for volume in services["proxy"]["volumes"]:
        source = volume.split(":")[0]
        if source.startswith("./nginx"):
            assert (DEPLOY / source).exists(), source
    assert (PROJECT / compose["services"]["web"]["build"]["dockerfile"]).exists()


def test_the_dockerfile_installs_the_package_with_pg_dump_and_runs_as_a_plain_user():
    dockerfile = (PROJECT / "Dockerfile").read_text()
    assert "postgresql-client" in dockerfile
    assert re.search(r"^USER amparo$", dockerfile, re.M)
    assert 'pip install --no-cache-dir ".[s3,rq]"' in dockerfile
    assert "%(U)s" in dockerfile


@pytest.mark.skipif(
    not shutil.which("docker")
    or subprocess.run(["docker", "compose", "version"], capture_output=True, check=False).returncode != 0,  # noqa: S607
    reason="Docker's compose plugin is not installed",
)
def test_docker_compose_config_accepts_the_file(tmp_path):
    result = subprocess.run(  # noqa: S603
        ["docker", "compose", "-f", str(DEPLOY / "compose.yaml"), "config", "--quiet", "--no-interpolate"],  # noqa: S607
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr


def test_nginx_limits_match_amparos_and_its_log_has_no_query_string_or_address():
    conf = (DEPLOY / "nginx" / "amparo.conf").read_text()
    log_format = re.search(r"log_format amparo_private (.*?);", conf, re.S).group(1)
    for leak in (
        "$request ",
        "$request_uri",
        "$args",
        "$query_string",
        "$remote_addr",
        "$http_user_agent",
        "$http_referer",
    ):
        assert leak not in log_format + " ", leak
    assert "$uri" in log_format
    limits = dict(re.findall(r"location ([^{]+?)\s*\{[^}]*?client_max_body_size (\w+);", conf, re.S))
    default = re.search(r"^\s{4}client_max_body_size (\d+)m;", conf, re.M).group(1)
    assert int(default) * 1024 * 1024 >= settings.DATA_UPLOAD_MAX_MEMORY_SIZE  # forms get through
    assert int(default) * 1024 * 1024 < 2 * settings.DATA_UPLOAD_MAX_MEMORY_SIZE  # and little more
    (uploads,) = limits.values()
    assert uploads == "2g"  # AMPARO_EVIDENCE_MAX_BYTES's default (evidence/storage.py)
    assert "ssl_protocols TLSv1.2 TLSv1.3;" in conf
    assert "return 301 https://" in conf


def test_alert_rules_cover_the_five_situations_and_name_metrics_the_code_exposes():
    rules = yaml.safe_load((DEPLOY / "prometheus" / "alerts.yml").read_text())["groups"][0]["rules"]
    by_name = {rule["alert"]: rule["expr"] for rule in rules}
    assert "amparo_worker_heartbeat_age_seconds" in by_name["AmparoWorkerDown"]
    assert "amparo_tasks_oldest_ready_seconds > 120" in by_name["AmparoQueueStalled"]
    assert "amparo_backup_last_success_age_seconds > 26 * 3600" in by_name["AmparoBackupTooOld"]
    assert "amparo_sync_node_silence_seconds > 72 * 3600" in by_name["AmparoDistrictNodeSilent"]
    assert "> 0.10" in by_name["AmparoSmsFailures"]
    exposed = set()
    for module in ("core/metrics.py", "intake/metrics.py", "evidence/metrics.py", "sync/metrics.py"):
        exposed |= set(re.findall(r'"(amparo_[a-z_]+)"', (PROJECT / "amparo" / module).read_text()))
    used = set(re.findall(r"\b(amparo_[a-z_]+?)(?:_total)?\b", " ".join(by_name.values())))
    assert used <= exposed, used - exposed


def test_the_environment_example_names_only_documented_variables():
    documented = (PROJECT / "docs" / "configuration.md").read_text()
    example = (DEPLOY / "amparo.env.example").read_text()
    names = set(re.findall(r"^#?([A-Z][A-Z0-9_]+)=", example, re.M))
    assert names
    for name in names:
        base = name.removesuffix("_FILE")
        assert f"`{base}`" in documented, name
