"""``editorial-assistant costs report``: the same hand-computed month, from a terminal."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from editorial_assistant.cli import cli
from editorial_assistant.config import load_settings
from tests.costs import expected, synthetic
from tests.system.processes import environment


class Terminal:
    def __init__(self, tmp_path: Path) -> None:
        self.env = environment(tmp_path, **synthetic.SETTINGS_ENV)
        assert self("migrate").exit_code == 0
        synthetic.write_month(load_settings(self.env).database_path)

    def __call__(self, *args: str) -> Result:
        return CliRunner().invoke(cli, list(args), env=self.env, obj={})


@pytest.fixture
def terminal(tmp_path: Path) -> Terminal:
    return Terminal(tmp_path)


def test_it_prints_the_markdown_report_by_default(terminal: Terminal) -> None:
    result = terminal("costs", "report", "--month", "2026-10")
    assert result.exit_code == 0, result.output
    for section in expected.MARKDOWN_SECTIONS[1:]:
        assert section in result.output, section
    assert result.output.startswith(
        "# Editorial Assistant costs: 2026-10\n\n2026-10-01 to 2026-10-31 (UTC)."
    )


def test_it_writes_the_csv_to_a_file(terminal: Terminal, tmp_path: Path) -> None:
    target = tmp_path / "october.csv"
    result = terminal(
        "costs", "report", "--month", "2026-10", "--format", "csv", "--output", str(target)
    )
    assert result.exit_code == 0, result.output
    assert target.read_bytes().decode("utf-8") == expected.expected_csv()
    assert f"wrote the 2026-10 cost report to {target}" in result.output


def test_it_prints_json_with_the_hand_computed_figures(terminal: Terminal) -> None:
    import json

    result = terminal("costs", "report", "--month", "2026-10", "--format", "json")
    report = json.loads(result.output)
    assert report["totals"] == synthetic.TOTALS
    assert report["by_model"] == synthetic.BY_MODEL
    assert report["hosting"] == synthetic.HOSTING


@pytest.mark.parametrize("month", ["2026-13", "10-2026", "last month"])
def test_a_bad_month_is_a_usage_error_naming_the_format(terminal: Terminal, month: str) -> None:
    result = terminal("costs", "report", "--month", month)
    assert result.exit_code == 2
    assert "Invalid value for '--month'" in result.output
    assert "use YYYY-MM" in result.output


def test_a_month_far_ahead_is_a_usage_error(terminal: Terminal) -> None:
    result = terminal("costs", "report", "--month", "9999-12")
    assert result.exit_code == 2
    assert "9999-12 has not started yet" in result.output


def test_a_bad_month_leaves_no_file_behind(terminal: Terminal, tmp_path: Path) -> None:
    target = tmp_path / "never.csv"
    result = terminal("costs", "report", "--month", "2026-13", "--output", str(target))
    assert result.exit_code == 2 and not target.exists()


def test_bare_costs_still_prints_the_month_to_date_summary(terminal: Terminal) -> None:
    result = terminal("costs")
    assert result.exit_code == 0
    assert "of $1.00 spent" in result.output and "by phase:" in result.output
