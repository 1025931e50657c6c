"""The explorer in a real browser: Debian's chromium, headless, driven by Selenium through Debian's
chromium-driver (nothing is downloaded).  Without them the tests FAIL with the fix, never skip:
CI installs them with scripts/setup.sh."""

from __future__ import annotations

import io
import itertools
import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from protoproof.cli import main
from protoproof.explorer.server import ExplorerServer, serving
from protoproof.explorer.session import Page
from protoproof.models.registry import Protocol, registration

from .spin import Spin

#: Where the screenshot goes besides tmp (scripts/explorer_screenshot.sh sets it to docs/explorer.png).
SCREENSHOT_ENV = "PROTOPROOF_EXPLORER_SCREENSHOT"
WAIT_S = 20
SETUP = "run `bash scripts/setup.sh` (as root or with sudo: it installs Debian's chromium and chromium-driver)"


def _find(*names: str) -> str | None:
    return next((p for p in map(shutil.which, names) if p), None)


@pytest.fixture
def browser() -> Iterator[Any]:
    try:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service
    except ImportError:
        pytest.fail(f"the browser tests need the selenium package: pip install -e '.[test]', or {SETUP}")
    chromium = _find("chromium", "chromium-browser")
    driver_bin = _find("chromedriver")
    if chromium is None or driver_bin is None:
        missing = " and ".join(n for n, p in (("chromium", chromium), ("chromedriver", driver_bin)) if p is None)
        pytest.fail(f"the browser tests need {missing} on PATH: {SETUP}")
    os.environ.setdefault("SE_OFFLINE", "true")  # Selenium Manager must not try to download a driver
    opts = webdriver.ChromeOptions()
    opts.binary_location = chromium
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                "--window-size=1400,1000", "--hide-scrollbars"):
        opts.add_argument(arg)
    opts.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(options=opts, service=Service(executable_path=driver_bin))
    try:
        yield driver
        # a script error on the page fails the test (a refused request, status 400, is expected)
        errors = [e["message"] for e in driver.get_log("browser")
                  if e["level"] == "SEVERE" and "Failed to load resource" not in e["message"]]
        assert not errors, errors
    finally:
        driver.quit()


def _wait(driver: Any, cond: Any, what: str) -> Any:
    from selenium.common.exceptions import TimeoutException
    from selenium.webdriver.support.ui import WebDriverWait

    try:
        return WebDriverWait(driver, WAIT_S).until(cond)
    except TimeoutException:
        error = driver.find_element("id", "error").text
        raise AssertionError(f"timed out waiting for {what}; the page's error line: {error!r}") from None


def _at_step(driver: Any, k: int) -> None:
    _wait(driver, lambda d: d.find_element("id", "step-count").get_attribute("data-steps") == str(k)
          and d.find_element("id", "chart").get_attribute("data-steps") == str(k), f"step {k}")


def _prop(driver: Any, name: str) -> str:
    return str(driver.find_element("id", f"prop-{name}").get_attribute("data-value"))


def _background(driver: Any, name: str) -> str:
    return str(driver.find_element("css selector", f"#prop-{name} td").value_of_css_property("background-color"))


def _chart_nodes(driver: Any) -> int:
    return len(driver.find_elements("css selector", "#chart svg g.node"))


def test_a_2pc_counterexample_taken_by_clicking_turns_atomicity_false_and_grows_the_chart(
        browser: Any, server: ExplorerServer, cex: dict[str, Any], tmp_path: Path) -> None:
    browser.get(server.base + "/")  # redirected to the start page of the model it was started with
    _at_step(browser, 0)
    assert "model=twophase" in browser.current_url and "rms" in browser.find_element("id", "params").text
    actions = [step["action"] for step in cex["path"][1:]]
    sizes = [_chart_nodes(browser)]
    for k, label in enumerate(actions, 1):
        assert _prop(browser, "atomicity") == "true", f"atomicity false before step {k}"
        buttons = [b for b in browser.find_elements("css selector", "#actions button.action")
                   if b.get_attribute("data-label") == label]
        assert len(buttons) == 1, f"step {k}: no single button for {label}"
        buttons[0].click()
        _at_step(browser, k)
        sizes.append(_chart_nodes(browser))
    assert _prop(browser, "atomicity") == "false"
    row = browser.find_element("id", "prop-atomicity")
    assert "violated" in row.get_attribute("class").split() and "first false at step 7" in row.text
    assert _background(browser, "atomicity") == "rgba(255, 208, 208, 1)"  # marked red
    assert _prop(browser, "all_aborted") == "false"  # a @sometimes not reached yet is no violation:
    assert _background(browser, "all_aborted") == "rgba(0, 0, 0, 0)"  # not red
    assert all(a < b for a, b in itertools.pairwise(sizes)), f"the chart did not grow at every step: {sizes}"
    assert [li.text for li in browser.find_elements("css selector", "#steps li")][1:] == actions
    permalink = browser.current_url
    assert permalink.endswith("path=" + ".".join(map(str, _indices(browser, len(actions)))))
    shot = tmp_path / "explorer.png"
    browser.save_screenshot(str(shot))
    assert shot.stat().st_size > 10_000
    if os.environ.get(SCREENSHOT_ENV):
        shutil.copyfile(shot, os.environ[SCREENSHOT_ENV])
    # the permalink alone, in a fresh load, shows the same violation
    browser.get(permalink)
    _at_step(browser, len(actions))
    assert _prop(browser, "atomicity") == "false"


def _indices(browser: Any, n: int) -> list[str]:
    path = browser.execute_script("return current.path")
    assert len(path) == n
    return [str(i) for i in path]


def test_a_pasted_or_uploaded_check_json_counterexample_is_stepped_through_with_back_and_forward(
        browser: Any, server: ExplorerServer, cex_json: str, cex: dict[str, Any], tmp_path: Path) -> None:
    browser.get(server.url)
    _at_step(browser, 0)
    browser.find_element("id", "random10").click()  # somewhere else first: loading starts over
    _wait(browser, lambda d: d.find_element("id", "step-count").get_attribute("data-steps") != "0", "random steps")
    browser.execute_script("document.getElementById('cex-text').value = arguments[0]", cex_json)
    browser.find_element("id", "cex-load").click()
    _at_step(browser, 0)
    n = len(cex["path"]) - 1
    _wait(browser, lambda d: f"atomicity ({n} steps)" in d.find_element("id", "info").text, "the loaded note")
    for k in range(1, n + 1):
        browser.find_element("id", "forward").click()
        _at_step(browser, k)
    assert _prop(browser, "atomicity") == "false"
    assert browser.find_element("id", "forward").get_attribute("disabled") == "true"
    browser.find_element("id", "back").click()
    _at_step(browser, n - 1)
    assert _prop(browser, "atomicity") == "true"
    browser.find_element("id", "restart").click()
    _at_step(browser, 0)
    browser.find_element("id", "cex-text").clear()
    browser.find_element("id", "cex-text").send_keys("{not json")
    browser.find_element("id", "cex-load").click()
    _wait(browser, lambda d: "not JSON" in d.find_element("id", "error").text, "the error line")
    upload = tmp_path / "cex.json"  # the same counterexample as a file: loaded on choosing it
    upload.write_text(cex_json)
    browser.find_element("id", "cex-file").send_keys(str(upload))
    _wait(browser, lambda d: not d.find_element("id", "error").is_displayed()
          and f"({n} steps)" in d.find_element("id", "info").text, "the uploaded counterexample")
    browser.find_element("id", "forward").click()
    _at_step(browser, 1)
    assert [li.text for li in browser.find_elements("css selector", "#steps li")][1:] == [cex["path"][1]["action"]]


def test_the_parameters_form_rebuilds_the_model_and_the_browser_back_button_returns(
        browser: Any, server: ExplorerServer) -> None:
    from selenium.webdriver.support.ui import Select

    browser.get(server.url)
    _at_step(browser, 0)
    assert [r.text.split()[0] for r in browser.find_elements("css selector", "#state th")][:3] == ["rm0", "rm1", "rm2"]
    browser.find_elements("css selector", "#actions button.action")[0].click()
    _at_step(browser, 1)
    rms = browser.find_element("css selector", "#params input[name=rms]")
    rms.clear()
    rms.send_keys("2")
    browser.find_element("id", "rebuild").click()
    _wait(browser, lambda d: len(d.find_elements("css selector", "#state th")) == 5, "the 2-RM state")
    assert "rms=2" in browser.current_url and "variant=commit-on-majority" in browser.current_url
    Select(browser.find_element("id", "model")).select_by_value("tcommit")
    browser.find_element("id", "rebuild").click()
    _wait(browser, lambda d: "model=tcommit" in d.current_url, "the other model")
    _wait(browser, lambda d: "not an actor model" in d.find_element("id", "chart").text, "the steps-only note")
    browser.back()
    _wait(browser, lambda d: len(d.find_elements("css selector", "#state th")) == 5, "back to 2PC with 2 RMs")
    assert "model=twophase" in browser.current_url


def test_a_liveness_counterexample_is_stepped_to_its_lasso_where_the_property_is_false(browser: Any) -> None:
    with registration(Protocol(Spin.name, Spin)):
        out = io.StringIO()
        assert main(["check", Spin.name, "--json", "--quiet"], out=out, err=io.StringIO()) == 1
        with serving(Page(Spin.name, None, (), ())) as srv:
            browser.get(srv.url)
            _at_step(browser, 0)
            browser.execute_script("document.getElementById('cex-text').value = arguments[0]", out.getvalue())
            browser.find_element("id", "cex-load").click()
            _wait(browser, lambda d: "lasso" in d.find_element("id", "info").text, "the lasso note")
            assert _prop(browser, "done") == "–" and "loop=" not in browser.current_url
            browser.find_element("id", "forward").click()
            _at_step(browser, 1)
            browser.find_element("id", "forward").click()
            _at_step(browser, 2)
            assert "loop=0" in browser.current_url and _prop(browser, "done") == "false"
            browser.find_element("id", "back").click()
            _at_step(browser, 1)
            assert "loop=" not in browser.current_url and _prop(browser, "done") == "–"

