"""The moderators' page in a real headless browser (Debian's chromium and chromedriver): type a comment, submit, read
the four scores, the decision and the top sentences from the page, take a screenshot."""

from __future__ import annotations

import shutil

import pytest

from tfgbv.serve.server import BackgroundServer
from tfgbv.serve.spec import ServeSpec

CHROMIUM, DRIVER = shutil.which("chromium"), shutil.which("chromedriver")
pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(
        not (CHROMIUM and DRIVER),
        reason="needs Debian's chromium and chromium-driver (apt-get install chromium chromium-driver; .ci/run does)",
    ),
]
COMMENT = "Привет всем. Ты дура и никто тебя не уважает! Я знаю, где ты живёшь."


@pytest.fixture(scope="module")
def url(tiny_scorer):
    with BackgroundServer(ServeSpec(port=0), tiny_scorer) as url:
        yield url


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    webdriver = pytest.importorskip("selenium.webdriver")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in (
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        "--window-size=1000,900",
        f"--user-data-dir={tmp_path_factory.mktemp('chromium-profile')}",
    ):
        options.add_argument(flag)
    driver = webdriver.Chrome(options=options, service=webdriver.ChromeService(executable_path=DRIVER))
    driver.set_page_load_timeout(30)
    yield driver
    driver.quit()


def test_a_moderator_pastes_a_comment_and_reads_the_scores(url, browser, tiny_classifier, tmp_path):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import WebDriverWait

    browser.get(url + "/")
    browser.find_element(By.ID, "comment").send_keys(COMMENT)
    browser.find_element(By.ID, "submit").click()
    WebDriverWait(browser, 30).until(ec.visibility_of_element_located((By.ID, "result")))
    proba = tiny_classifier.predict_proba([COMMENT])[0]
    for j, label in enumerate(tiny_classifier.labels):
        shown = float(browser.find_element(By.ID, f"score-{label}").text)
        assert shown == pytest.approx(float(proba[j]), abs=6e-4), label
    flagged = [lab for j, lab in enumerate(tiny_classifier.labels) if proba[j] >= tiny_classifier.thresholds[j]]
    decision = browser.find_element(By.ID, "decision").text
    assert decision.startswith("Flagged: " + ", ".join(flagged) if flagged else "Not flagged")
    sentences = [li.text for li in browser.find_elements(By.CSS_SELECTOR, "#sentences li")]
    assert len(sentences) == 3 and all(s.rsplit(" (", 1)[0] in COMMENT for s in sentences)
    assert browser.find_element(By.ID, "error").text == ""
    shot = tmp_path / "page.png"
    assert browser.save_screenshot(str(shot)) and shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_the_page_shows_the_services_error(url, browser):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    browser.get(url + "/")
    browser.find_element(By.ID, "comment").send_keys("   ")  # only white space: the service refuses it
    browser.find_element(By.ID, "submit").click()
    WebDriverWait(browser, 30).until(lambda d: d.find_element(By.ID, "error").text)
    assert "texts[0]: empty text" in browser.find_element(By.ID, "error").text
