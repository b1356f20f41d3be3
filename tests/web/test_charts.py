"""The SVG bar chart: valid XML, heights in proportion, empty and zero months, escaped text."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from editorial_assistant.web.charts import BASELINE, PLOT_HEIGHT, Bar, bar_chart, nice_ceiling

SVG = "{http://www.w3.org/2000/svg}"


def chart(bars: list[Bar], **options: str) -> ET.Element:
    markup = bar_chart(
        bars,
        chart_id=options.get("chart_id", "spend"),
        title=options.get("title", "Spend per day"),
        description=options.get("description", "One bar per day."),
    )
    return ET.fromstring(str(markup))


def rects(root: ET.Element) -> list[ET.Element]:
    return root.findall(f"{SVG}rect")


def test_it_is_valid_svg_named_for_assistive_technology() -> None:
    root = chart([Bar("2026-11-01", 1.5, "1")])
    assert root.tag == f"{SVG}svg"
    assert root.get("role") == "img" and root.get("class") == "chart"
    assert root.get("aria-labelledby") == "spend-title spend-desc"
    assert root.find(f"{SVG}title").get("id") == "spend-title"  # type: ignore[union-attr]
    assert root.find(f"{SVG}desc").text == "One bar per day."  # type: ignore[union-attr]
    assert [line.get("class") for line in root.findall(f"{SVG}line")] == ["axis", "axis"]
    assert all(rect.get("class") == "bar" for rect in rects(root))


def test_no_element_carries_a_style_attribute() -> None:
    root = chart([Bar("a", 1.0, "a"), Bar("b", 2.0)])
    assert all("style" not in element.attrib for element in root.iter())


def test_bar_heights_are_proportional_to_the_values_and_stand_on_the_baseline() -> None:
    values = [0.25, 1.0, 0.5, 0.125, 0.8]
    root = chart([Bar(f"day {n}", value) for n, value in enumerate(values)])
    heights = [float(rect.get("height", "")) for rect in rects(root)]
    for value, height in zip(values, heights, strict=True):
        assert height / heights[1] == pytest.approx(value / values[1], abs=1e-3)
    for rect in rects(root):
        bottom = float(rect.get("y", "")) + float(rect.get("height", ""))
        assert bottom == pytest.approx(BASELINE, abs=0.01)
    assert max(heights) <= PLOT_HEIGHT


def test_each_bar_says_its_label_and_value() -> None:
    root = bar_chart(
        [Bar("2026-11-03", 0.26)],
        chart_id="c",
        title="t",
        description="d",
        value_text=lambda value: f"${value:.2f}",
    )
    bar = rects(ET.fromstring(str(root)))[0]
    assert bar.find(f"{SVG}title").text == "2026-11-03: $0.26"  # type: ignore[union-attr]


def test_a_month_of_zeros_draws_flat_bars_and_an_empty_one_only_the_axes() -> None:
    zeros = chart([Bar(f"2026-11-0{n}", 0.0) for n in range(1, 4)])
    assert [float(rect.get("height", "")) for rect in rects(zeros)] == [0.0, 0.0, 0.0]
    empty = chart([])
    assert rects(empty) == [] and len(empty.findall(f"{SVG}line")) == 2


def test_negative_and_missing_values_draw_nothing_rather_than_break() -> None:
    root = chart([Bar("a", -3.0), Bar("b", float("nan")), Bar("c", 2.0)])
    heights = [float(rect.get("height", "")) for rect in rects(root)]
    assert heights[:2] == [0.0, 0.0] and heights[2] > 0


def test_every_text_is_escaped() -> None:
    hostile = "<script>alert('x')</script> & \"quotes\""
    markup = bar_chart(
        [Bar(hostile, 1.0, hostile)],
        chart_id="c",
        title=hostile,
        description=hostile,
        value_text=lambda value: hostile,
    )
    assert "<script>" not in markup
    root = ET.fromstring(str(markup))
    texts = [element.text for element in root.iter() if element.text and "script" in element.text]
    assert hostile in texts  # the title, the description and the tick read back intact
    assert f"{hostile}: {hostile}" in texts


def test_a_chart_id_that_is_not_a_plain_token_is_refused() -> None:
    with pytest.raises(ValueError):
        chart([], chart_id='x" onload="alert(1)')


@pytest.mark.parametrize(
    ("value", "top"),
    [(0.0, 1.0), (0.76, 1.0), (1.0, 1.0), (1.2, 2.0), (2.2, 2.5), (3.0, 5.0), (0.031, 0.05)],
)
def test_the_value_axis_tops_out_at_a_round_number(value: float, top: float) -> None:
    assert nice_ceiling(value) == pytest.approx(top)
