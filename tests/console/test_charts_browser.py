"""The console's Plotly figures drawn by the real plotly.js in headless Chromium, without a hub: what a
user's own text becomes in a chart (ipynb_tools/console/charts.py)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import plotly

from ipynb_tools.console.charts import ProgressPoints, plain, progress_figure

HOVER_TEXTS = "() => [...document.querySelectorAll('#chart .hoverlayer text')].map(t => t.textContent)"


def test_a_user_name_is_never_read_as_a_plotly_template(chromium: Any) -> None:
    """A student named ``a%{y}b`` hovers as ``a%{y}b``: the trace's hover template names the user by
    reference (``%{fullData.name}``); with the name pasted into the template plotly.js showed ``a2b``."""
    user = "a%{y}b%{x}<i>i</i>"
    figure = progress_figure(
        [ProgressPoints(user=user, times=["2026-12-01 07:00:00", "2026-12-01 07:10:00"], codenums=[1, 2])]
    )
    assert user not in figure.data[0].hovertemplate
    page = chromium.new_page()
    try:
        page.set_content('<div id="chart" style="width:600px;height:400px"></div>')
        page.add_script_tag(path=str(Path(plotly.__file__).parent / "package_data" / "plotly.min.js"))
        page.evaluate("f => Plotly.newPlot('chart', f.data, f.layout)", json.loads(figure.to_json()))
        page.evaluate("() => Plotly.Fx.hover('chart', [{curveNumber: 0, pointNumber: 1}])")
        page.wait_for_function(f"() => ({HOVER_TEXTS})().length > 0", timeout=10_000)
        texts = page.evaluate(HOVER_TEXTS)
        assert plain(user, 20).replace("&lt;", "<").replace("&gt;", ">") in texts, texts
        assert not any("a2b" in text for text in texts), texts
    finally:
        page.close()


#: Whether any legend box overlaps a tick label of the x axis (their client rectangles)
LEGEND_OVER_TICKS = """() => {
  const boxes = s => [...document.querySelectorAll(s)].map(e => e.getBoundingClientRect());
  const ticks = boxes('#chart .xtick text'), legends = boxes('#chart .legend .traces');
  const meet = (a, b) => a.left < b.right && b.left < a.right && a.top < b.bottom && b.top < a.bottom;
  return legends.some(l => ticks.some(t => meet(l, t)));
}"""


def test_the_dashboards_progress_chart_keeps_its_date_line_clear(chromium: Any) -> None:
    """The dashboard's small progress chart: the legend under the date axis covered the axis' date line
    ('Dec 1, 2026'); the small chart has no legend (hover names a line), the chart page keeps it."""
    lines = [ProgressPoints(user="hara", times=["2026-12-01 06:00:00", "2026-12-01 07:20:00"], codenums=[1, 2])]
    page = chromium.new_page(viewport={"width": 1280, "height": 800})
    try:
        page.set_content('<div id="chart" style="width:400px;height:260px"></div>')
        page.add_script_tag(path=str(Path(plotly.__file__).parent / "package_data" / "plotly.min.js"))
        for compact in (True, False):
            figure = progress_figure(lines, compact=compact)
            page.evaluate("f => Plotly.newPlot('chart', f.data, f.layout)", json.loads(figure.to_json()))
            assert page.locator("#chart .xtick text").count() > 0
            assert not page.evaluate(LEGEND_OVER_TICKS), compact
            assert page.locator("#chart .legend").count() == (0 if compact else 1)
    finally:
        page.close()
