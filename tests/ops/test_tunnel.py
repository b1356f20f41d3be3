"""``editorial-assistant tunnel check``: our cloudflared config, checked without cloudflared."""

from __future__ import annotations

import base64
import copy
import json
import os
import pwd
import random
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner

from editorial_assistant.cli import cli
from editorial_assistant.ops.tunnel import MAX_BYTES, Problem, check_tunnel_config
from editorial_assistant.ops.tunnel_values import _tunnel_user_can_read

SHIPPED = Path(__file__).resolve().parents[2] / "etc" / "editorial-assistant" / "cloudflared.yml"
TUNNEL_ID = "6ff42ae2-765d-4adf-8112-31c55c1551ef"
TEAM = "pbswisconsin"
AUD = "4714c1358e65fe4b408ad6d432a5f878f08194bdb4752441fd56faefa9b2b6f2"


def credential(**changes: Any) -> dict[str, Any]:
    secret = base64.b64encode(bytes(range(32))).decode()
    return {"AccountTag": "0123abcd", "TunnelSecret": secret, "TunnelID": TUNNEL_ID, **changes}


def install_credential(tmp_path: Path, body: object, mode: int = 0o600) -> Path:
    path = tmp_path / f"{TUNNEL_ID}.json"
    path.write_text(json.dumps(body), encoding="utf-8")
    path.chmod(mode)
    return path


@pytest.fixture
def config(tmp_path: Path) -> dict[str, Any]:
    """The shipped file with its placeholders filled in and its credential installed."""
    text = SHIPPED.read_text(encoding="utf-8")
    text = text.replace("/etc/editorial-assistant/cloudflared/", f"{tmp_path}/")
    for placeholder, value in (
        ("<tunnel-uuid>", TUNNEL_ID),
        ("<hostname>", "editorial.example.org"),
        ("<team-name>", TEAM),
        ("<aud-tag>", AUD),
    ):
        text = text.replace(placeholder, value)
    install_credential(tmp_path, credential())
    document = yaml.safe_load(text)
    assert isinstance(document, dict)
    return document


def check(tmp_path: Path, document: object, **options: str) -> list[Problem]:
    path = tmp_path / "cloudflared.yml"
    path.write_text(yaml.safe_dump(document, sort_keys=False), encoding="utf-8")
    return check_tunnel_config(path, **options)


def errors(problems: list[Problem]) -> dict[str, str]:
    return {p.key: p.message for p in problems if p.severity == "error"}


def warnings(problems: list[Problem]) -> dict[str, str]:
    return {p.key: p.message for p in problems if p.severity == "warning"}


def api_rule(document: dict[str, Any]) -> dict[str, Any]:
    rule = document["ingress"][0]
    assert isinstance(rule, dict)
    return rule


def test_the_shipped_config_asks_for_exactly_its_placeholders() -> None:
    problems = check_tunnel_config(SHIPPED)
    assert [(p.severity, p.key) for p in problems] == [
        ("error", "tunnel"),
        ("error", "credentials-file"),
        ("error", "ingress[0].hostname"),
        ("error", "ingress[0].originRequest.access.teamName"),
        ("error", "ingress[0].originRequest.access.audTag[0]"),
    ]
    assert all("placeholder" in p.message and p.fix for p in problems)


def test_the_shipped_config_routes_to_the_api_socket_and_ends_with_a_404() -> None:
    document = yaml.safe_load(SHIPPED.read_text(encoding="utf-8"))
    assert document["ingress"][0]["service"] == "unix:/run/editorial-assistant/api.sock"
    assert document["ingress"][-1] == {"service": "http_status:404"}
    assert document["metrics"] == "127.0.0.1:20241" and document["no-autoupdate"] is True


def test_a_filled_in_copy_with_its_credential_passes(tmp_path: Path, config: dict) -> None:
    assert check(tmp_path, config) == []
    assert check(tmp_path, config, team=f"https://{TEAM}.cloudflareaccess.com", aud=AUD) == []


def test_a_missing_credential_is_a_warning_because_the_unit_waits_for_it(
    tmp_path: Path, config: dict
) -> None:
    (tmp_path / f"{TUNNEL_ID}.json").unlink()
    problems = check(tmp_path, config)
    assert errors(problems) == {}
    assert "does not exist yet" in warnings(problems)["credentials-file"]


@pytest.mark.parametrize(
    ("body", "key", "message"),
    [
        ("not json", "credentials-file", "not a JSON tunnel credential"),
        (["a", "list"], "credentials-file", "not a JSON tunnel credential"),
        (credential(AccountTag=""), "credentials-file.AccountTag", "missing"),
        (credential(TunnelSecret="***"), "credentials-file.TunnelSecret", "not base64"),
        (credential(TunnelID="abc"), "credentials-file.TunnelID", "not a UUID"),
        (credential(TunnelID=TUNNEL_ID.replace("6", "7")), "tunnel", "credential is for tunnel"),
    ],
)
def test_it_checks_the_credential_when_it_is_there(
    tmp_path: Path, config: dict, body: object, key: str, message: str
) -> None:
    install_credential(tmp_path, body)
    assert message in errors(check(tmp_path, config))[key]


def test_the_credential_never_appears_in_a_message(tmp_path: Path, config: dict) -> None:
    secret = credential()["TunnelSecret"]
    install_credential(tmp_path, credential(TunnelID="x", AccountTag=""), mode=0o644)
    assert all(secret not in p.line() for p in check(tmp_path, config))


def test_a_world_readable_credential_is_a_warning(tmp_path: Path, config: dict) -> None:
    install_credential(tmp_path, credential(), mode=0o644)
    assert "readable by every user" in warnings(check(tmp_path, config))["credentials-file"]


def test_it_knows_whether_the_tunnel_user_can_read_the_credential(tmp_path: Path) -> None:
    me = pwd.getpwuid(os.getuid())
    path = install_credential(tmp_path, credential(), mode=0o600)
    assert _tunnel_user_can_read(path.stat(), me.pw_name)
    os.chown(path, -1, me.pw_gid)
    path.chmod(0o040)
    assert _tunnel_user_can_read(path.stat(), me.pw_name)
    path.chmod(0o004)  # the "other" bit is not the user's
    assert not _tunnel_user_can_read(path.stat(), me.pw_name)
    assert _tunnel_user_can_read(path.stat(), "no-such-user-here")


def test_a_tunnel_name_must_be_the_credentials_tunnel_name(tmp_path: Path, config: dict) -> None:
    config["tunnel"] = "editorial-assistant"
    assert "only cert.pem could resolve it" in errors(check(tmp_path, config))["tunnel"]
    install_credential(tmp_path, credential(TunnelName="editorial-assistant"))
    assert check(tmp_path, config) == []


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("tunnel", None, "is missing"),
        ("tunnel", 42, "must be a string"),
        ("credentials-file", "cloudflared/x.json", "not an absolute path"),
        ("ingress", [], "non-empty list"),
        ("ingress", {"service": "http_status:404"}, "non-empty list"),
    ],
)
def test_it_names_a_bad_top_level_value(
    tmp_path: Path, config: dict, key: str, value: object, message: str
) -> None:
    config[key] = value
    assert message in errors(check(tmp_path, config))[key]


def test_every_rule_needs_a_service(tmp_path: Path, config: dict) -> None:
    del api_rule(config)["service"]
    assert "is missing" in errors(check(tmp_path, config))["ingress[0].service"]


def test_a_rule_before_the_last_needs_a_hostname_or_path(tmp_path: Path, config: dict) -> None:
    del api_rule(config)["hostname"]
    assert "later rules never run" in errors(check(tmp_path, config))["ingress[0]"]
    api_rule(config)["path"] = "^/api/"
    assert errors(check(tmp_path, config)) == {}


def test_the_last_rule_must_match_everything(tmp_path: Path, config: dict) -> None:
    config["ingress"][-1]["hostname"] = "other.example.org"
    assert "must match everything" in errors(check(tmp_path, config))["ingress[1]"]


@pytest.mark.parametrize("service", ["http_status:200", "http://127.0.0.1:8000"])
def test_the_catch_all_must_answer_404(tmp_path: Path, config: dict, service: str) -> None:
    config["ingress"][-1]["service"] = service
    assert "every unknown host name" in errors(check(tmp_path, config))["ingress[1].service"]


@pytest.mark.parametrize(
    ("hostname", "message"),
    [("editorial.example.org:443", "has a port"), ("editorial.*.org", "wildcard")],
)
def test_it_refuses_hostnames_cloudflared_refuses(
    tmp_path: Path, config: dict, hostname: str, message: str
) -> None:
    api_rule(config)["hostname"] = hostname
    assert message in errors(check(tmp_path, config))["ingress[0].hostname"]


@pytest.mark.parametrize(
    ("service", "why"),
    [
        ("http://192.168.1.20:8000", "not this machine's loopback"),
        ("http://0.0.0.0:8000", "not this machine's loopback"),
        ("https://editorial.example.org", "not this machine's loopback"),
        ("http://127.0.0.1.nip.io:8000", "not this machine's loopback"),
        ("hello_world", "test page"),
        ("bastion", "jump host"),
        ("socks-proxy", "SOCKS proxy"),
        ("ssh://localhost:22", "uses ssh scheme"),
        ("tcp://127.0.0.1:5432", "uses tcp scheme"),
        ("localhost:8000", "scheme"),
        ("http://127.0.0.1:8000/api", "has a path"),
        ("http://[::1", "not a valid URL"),
        ("unix:run/api.sock", "relative socket path"),
        ("http_status:abc", "not an HTTP status"),
    ],
)
def test_it_refuses_a_service_that_is_not_local_and_says_what_is_allowed(
    tmp_path: Path, config: dict, service: str, why: str
) -> None:
    api_rule(config)["service"] = service
    message = errors(check(tmp_path, config))["ingress[0].service"]
    assert why in message
    if not service.startswith("http_status"):
        assert "Allowed: unix:/path.sock" in message


@pytest.mark.parametrize(
    "service",
    [
        "http://127.0.0.1:8000",
        "http://localhost:8000",
        "http://[::1]:8000",
        "https://127.0.0.2:8443",
        "unix+tls:/run/x.sock",
    ],
)
def test_it_accepts_loopback_and_unix_socket_services(
    tmp_path: Path, config: dict, service: str
) -> None:
    api_rule(config)["service"] = service
    assert errors(check(tmp_path, config)) == {}


def test_access_on_the_top_level_alone_is_refused_because_cloudflared_ignores_it(
    tmp_path: Path, config: dict
) -> None:
    config["originRequest"] = api_rule(config).pop("originRequest")
    problems = check(tmp_path, config)
    assert "would not check the Access token" in errors(problems)["ingress[0].originRequest.access"]
    assert "cloudflared#784" in warnings(problems)["originRequest.access"]


@pytest.mark.parametrize(
    ("field", "value", "key", "message"),
    [
        ("required", False, "required", "must be true"),
        ("required", "true", "required", "must be true"),
        ("teamName", f"{TEAM}.cloudflareaccess.com", "teamName", "not a bare team name"),
        ("teamName", f"https://{TEAM}.cloudflareaccess.com/", "teamName", "not a bare team"),
        ("teamName", "", "teamName", "is missing"),
        ("audTag", AUD, "audTag", "is a string; cloudflared reads a list"),
        ("audTag", [], "audTag", "non-empty list"),
        ("audTag", [7], "audTag[0]", "must be a string"),
    ],
)
def test_access_must_be_required_with_a_team_and_an_aud(
    tmp_path: Path, config: dict, field: str, value: object, key: str, message: str
) -> None:
    api_rule(config)["originRequest"]["access"][field] = value
    found = errors(check(tmp_path, config))
    assert message in found[f"ingress[0].originRequest.access.{key}"]


def test_a_team_domain_error_suggests_the_bare_name(tmp_path: Path, config: dict) -> None:
    api_rule(config)["originRequest"]["access"]["teamName"] = f"{TEAM}.cloudflareaccess.com"
    problems = check(tmp_path, config)
    assert [p.fix for p in problems] == [f"Use '{TEAM}'."]


def test_an_aud_that_is_not_64_hex_characters_is_a_warning(tmp_path: Path, config: dict) -> None:
    api_rule(config)["originRequest"]["access"]["audTag"] = ["my-app"]
    problems = check(tmp_path, config)
    assert errors(problems) == {}
    assert "64 hexadecimal" in warnings(problems)["ingress[0].originRequest.access.audTag[0]"]


def test_team_and_aud_from_the_service_must_match(tmp_path: Path, config: dict) -> None:
    found = errors(check(tmp_path, config, team="otherteam", aud="f" * 64))
    assert "expects 'otherteam'" in found["ingress[0].originRequest.access.teamName"]
    assert "does not include" in found["ingress[0].originRequest.access.audTag"]


def test_a_bastion_mode_origin_is_refused(tmp_path: Path, config: dict) -> None:
    config["originRequest"] = {"bastionMode": True}
    assert "jump host" in errors(check(tmp_path, config))["originRequest.bastionMode"]


@pytest.mark.parametrize("metrics", ["0.0.0.0:20241", ":20241", "192.168.1.20:20241", "[::]:1"])
def test_metrics_must_listen_on_loopback(tmp_path: Path, config: dict, metrics: str) -> None:
    config["metrics"] = metrics
    assert "must stay on loopback" in errors(check(tmp_path, config))["metrics"]


def test_metrics_may_use_ipv6_loopback_and_should_be_set(tmp_path: Path, config: dict) -> None:
    config["metrics"] = "[::1]:20241"
    assert check(tmp_path, config) == []
    del config["metrics"]
    assert "is not set" in warnings(check(tmp_path, config))["metrics"]
    config["metrics"] = "localhost"
    assert "not host:port" in errors(check(tmp_path, config))["metrics"]


def test_autoupdate_should_be_off(tmp_path: Path, config: dict) -> None:
    config["no-autoupdate"] = False
    problems = check(tmp_path, config)
    assert errors(problems) == {}
    assert "replace its own binary" in warnings(problems)["no-autoupdate"]


def test_an_unknown_key_is_a_warning_naming_it(tmp_path: Path, config: dict) -> None:
    config["loglevl"] = "debug"
    api_rule(config)["originRequest"]["connectTimeot"] = "10s"
    problems = check(tmp_path, config)
    assert errors(problems) == {}
    assert set(warnings(problems)) == {"loglevl", "ingress[0].originRequest.connectTimeot"}


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("url", "http://localhost:8000", "single-origin"),
        ("credentials-contents", "{}", "tunnel secret"),
        ("warp-routing", {"enabled": True}, "WARP clients"),
    ],
)
def test_settings_that_open_other_ways_in_are_refused(
    tmp_path: Path, config: dict, key: str, value: object, message: str
) -> None:
    config[key] = value
    assert message in errors(check(tmp_path, config))[key]


def test_disabled_warp_routing_is_fine(tmp_path: Path, config: dict) -> None:
    config["warp-routing"] = {"enabled": False}
    assert check(tmp_path, config) == []


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"\x00\x01\x02\xff\xfe binary", "not UTF-8"),
        (b"\x00\x00\x00\x00", "not valid YAML"),
        (b"", "is empty"),
        (b"# only a comment\n", "is empty"),
        (b"- tunnel: x\n- ingress: []\n", "is a YAML list"),
        (b"just a string\n", "is a YAML str"),
        (b"tunnel: [unclosed\n", "not valid YAML"),
        (b"tunnel: a\ntunnel: b\n", "duplicate key 'tunnel'"),
        (b"? [a, b]\n: c\n", "not valid YAML"),
        (b"[" * 5000 + b"]" * 5000, "nested too deeply"),
        (b"x" * (MAX_BYTES + 1), "larger than"),
    ],
)
def test_garbage_is_a_problem_not_a_traceback(tmp_path: Path, content: bytes, message: str) -> None:
    path = tmp_path / "cloudflared.yml"
    path.write_bytes(content)
    [problem] = check_tunnel_config(path)
    assert problem.severity == "error" and problem.key == "(file)"
    assert message in problem.message


@pytest.mark.parametrize(
    "document",
    [
        {1: "x", "ingress": [None, 3, "text", {"service": ["a"]}]},
        {"ingress": [{"service": "http_status:404", "hostname": 5, "originRequest": []}]},
        {"ingress": [{"service": "unix:/x.sock", "originRequest": {"access": "yes"}}]},
        {"tunnel": TUNNEL_ID, "credentials-file": "/proc", "metrics": 20241},
    ],
)
def test_wrong_shapes_inside_the_file_are_problems(tmp_path: Path, document: dict) -> None:
    assert errors(check(tmp_path, document))


def test_a_self_referencing_value_is_a_problem(tmp_path: Path) -> None:
    path = tmp_path / "cloudflared.yml"
    path.write_bytes(b"tunnel: &x [*x]\ningress: &y [*y]\n")
    found = errors(check_tunnel_config(path))
    assert "must be a string" in found["tunnel"] and "must be a mapping" in found["ingress[0]"]
    path.write_bytes(b"metrics: &z {a: *z}\n")
    assert "recursive" in errors(check_tunnel_config(path))["(file)"]


def test_no_mutation_of_the_filled_in_config_raises(tmp_path: Path, config: dict) -> None:
    shuffle = random.Random(20241)
    values: list[object] = [None, 0, -1, "", "<x>", [], {}, [None], {"a": 1}, "unix:", True]
    for _ in range(300):
        document = copy.deepcopy(config)
        target: Any = document
        while isinstance(target, (dict, list)) and target and shuffle.random() < 0.7:
            key = shuffle.choice(list(target) if isinstance(target, dict) else range(len(target)))
            if not isinstance(target[key], (dict, list)) or shuffle.random() < 0.3:
                target[key] = shuffle.choice(values)
                break
            target = target[key]
        assert all(isinstance(p, Problem) for p in check(tmp_path, document))


def test_a_directory_or_missing_file_cannot_be_read(tmp_path: Path) -> None:
    for path in (tmp_path, tmp_path / "missing.yml"):
        [problem] = check_tunnel_config(path)
        assert problem.key == "(file)" and problem.message.startswith(("Cannot read", str(path)))


def run(*args: str, **env: str):  # type: ignore[no-untyped-def]
    return CliRunner().invoke(cli, ["tunnel", "check", *args], env=env, catch_exceptions=False)


def test_check_exits_0_when_only_warnings_remain(tmp_path: Path, config: dict) -> None:
    config["no-autoupdate"] = False
    check(tmp_path, config)
    result = run("--config", str(tmp_path / "cloudflared.yml"))
    assert result.exit_code == 0, result.output
    assert result.output.startswith("WARNING no-autoupdate: ")
    assert result.output.splitlines()[-1].endswith(": OK, 0 error(s), 1 warning(s)")


def test_check_exits_1_and_prints_one_line_per_problem(tmp_path: Path) -> None:
    result = run("--config", str(SHIPPED))
    assert result.exit_code == 1
    lines = result.output.splitlines()
    assert len(lines) == 6 and lines[2].startswith("ERROR ingress[0].hostname: ")
    assert "NOT OK, 5 error(s), 0 warning(s)" in lines[-1]


def test_check_exits_2_when_the_file_cannot_be_read(tmp_path: Path) -> None:
    result = run(EA_TUNNEL_CONFIG=str(tmp_path / "missing.yml"))
    assert result.exit_code == 2
    assert "ERROR (file): Cannot read" in result.output and "Traceback" not in result.output


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads any file")
def test_check_exits_2_when_the_file_is_not_readable(tmp_path: Path) -> None:
    path = tmp_path / "cloudflared.yml"
    path.write_text("tunnel: x\n", encoding="utf-8")
    path.chmod(0)
    assert run("--config", str(path)).exit_code == 2


def test_check_reads_the_path_from_the_environment_and_prints_json(
    tmp_path: Path, config: dict
) -> None:
    check(tmp_path, config)
    result = run("--json", EA_TUNNEL_CONFIG=str(tmp_path / "cloudflared.yml"))
    assert result.exit_code == 0
    report = json.loads(result.output)
    assert report == {
        "path": str(tmp_path / "cloudflared.yml"),
        "ok": True,
        "errors": 0,
        "warnings": 0,
        "problems": [],
    }
    shipped = json.loads(run("--json", "--config", str(SHIPPED)).output)
    assert shipped["errors"] == 5 and shipped["problems"][0]["key"] == "tunnel"
