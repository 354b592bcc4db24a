"""A loan's schedule chart on a 375 px phone and a 1280 px desktop, in Chinese and in English: its
legend (four entries) stays inside the chart, clear of the plot's labels, and no label lies over
another (browser_support.chart_clashes)."""

from django.contrib.auth.models import User

from tests.browser_support import BROWSER_MARKS, DESKTOP, NARROW, PASSWORD, chart_clashes, log_in, screenshot
from tests.lending.conftest import draw, open_pool
from tests.lending.factories import CreditLineFactory, ProductFactory

pytestmark = BROWSER_MARKS

LEGEND_JS = r"""(chart) => {
  const edge = chart.getBoundingClientRect();
  const names = new Set(JSON.parse(document.getElementById(chart.dataset.chart).textContent)
    .option.series.map(s => s.name));
  const legend = [...chart.querySelectorAll("svg text")].filter(t => names.has(t.textContent.trim()));
  // The plot's top: its highest amount on the value axis (¥...).
  const plotTop = Math.min(...[...chart.querySelectorAll("svg text")]
    .filter(t => t.textContent.trim().startsWith("¥")).map(t => t.getBoundingClientRect().top));
  return {
    shown: legend.map(t => t.textContent.trim()),
    outside: legend.filter(t => {
      const r = t.getBoundingClientRect();
      return r.width > 0 && (r.left < edge.left - 1 || r.right > edge.right + 1);
    }).map(t => t.textContent.trim()),
    legendBottom: Math.max(...legend.map(t => t.getBoundingClientRect().bottom)),
    plotTop,
  };
}"""


def test_the_schedule_chart_s_legend_fits_a_phone_in_both_languages(new_page, live_server):
    open_pool()
    product = ProductFactory(credit_loan=True)
    line = CreditLineFactory(product=product, limit_fen=10_000_000)
    user = User.objects.create_user("borrower", password=PASSWORD)
    line.merchant.user = user
    line.merchant.save(update_fields=["user"])
    loan = draw(line, 1_200_000)
    problems = []
    for language in ("zh-hans", "en"):
        for viewport in (NARROW, DESKTOP):
            page = new_page(viewport=viewport)
            page.context.add_cookies([{"name": "django_language", "value": language, "url": live_server.url}])
            log_in(page, live_server, "borrower")
            page.goto(f"{live_server.url}/loans/{loan.reference}/")
            chart = page.get_by_test_id("chart-schedule")
            chart.wait_for()
            page.locator("div.chart[data-rendered='1']").wait_for()
            where = f"{language} {viewport['width']}px"
            screenshot(page, f"schedule-chart-{language}-{viewport['width']}")
            if clashes := chart_clashes(page, "schedule"):
                problems.append(f"{where}: {clashes}")
            legend = chart.evaluate(LEGEND_JS)
            if not legend["shown"]:
                problems.append(f"{where}: no legend entry shows")
            if legend["outside"]:
                problems.append(f"{where}: legend entries beyond the chart: {legend['outside']}")
            if legend["legendBottom"] > legend["plotTop"] + 1:
                problems.append(f"{where}: the legend reaches into the plot: {legend}")
            page.context.close()
    assert not problems, "\n".join(problems)
