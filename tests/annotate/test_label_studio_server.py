"""The whole loop against a real Label Studio (`make test-label-studio`; `make test` deselects it):

tiny run -> tfgbv-select -> Label Studio project with our labelling config -> tasks imported -> two annotator
accounts annotate -> JSON export -> tfgbv-import-annotations -> tfgbv-train on the imported file (data=annotated).

Label Studio runs from its own venv (LABEL_STUDIO_VENV; it is never installed into the project's venv) on 127.0.0.1, a
free port, SQLite in tmp_path, legacy token enabled, and is stopped in a `finally` (process group SIGTERM, then
SIGKILL; PR_SET_PDEATHSIG kills it if pytest itself dies). The test talks to it over plain HTTP with urllib, the
same REST calls label-studio-sdk makes: no second Python process, and the calls documented in docs/annotation.md are
the ones exercised. An empty migrated database is cached per Label Studio version (LABEL_STUDIO_DB_CACHE, default
<venv>/tfgbv-db-cache): migrating a fresh one takes about a minute on 2 cores, starting on a copy about 8 s.
"""

from __future__ import annotations

import http.cookiejar
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

from tests.helpers import REPO
from tfgbv import rundir

VENV = Path(os.environ.get("LABEL_STUDIO_VENV") or Path.home() / ".cache" / "tfgbv" / "label-studio-venv")
LS_BIN = VENV / "bin" / "label-studio"
ADMIN = ("admin@example.com", "Adm1n-pass-123")
ANNOTATOR = ("annotator2@example.com", "Annot8r-pass-456")
ADMIN_TOKEN = "tfgbv-test-admin-token-0123456789"
HTTP_TIMEOUT = 30
STARTUP_TIMEOUT = 300

pytestmark = [
    pytest.mark.label_studio,
    pytest.mark.skipif(not LS_BIN.exists(), reason=f"no Label Studio at {LS_BIN} (make test-label-studio installs it)"),
]


# ----------------------------------------------------------------------------- server


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _die_with_parent() -> None:  # Linux: the server gets SIGTERM if pytest is killed, even by SIGKILL
    try:
        import ctypes

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def _env(data: Path, home: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        LABEL_STUDIO_BASE_DATA_DIR=str(data),
        DJANGO_DB="sqlite",
        DATABASE_NAME=str(data / "label_studio.sqlite3"),
        LABEL_STUDIO_DISABLE_SIGNUP_WITHOUT_LINK="true",
        LATEST_VERSION_CHECK="false",
        COLLECT_ANALYTICS="false",
        LOG_LEVEL="WARNING",
        SECRET_KEY="tfgbv-test-not-secret",
        HOME=str(home),  # nothing lands in the real ~/.local/share/label-studio
    )
    return env


def _migrated_db(tmp: Path) -> Path:
    """An empty, migrated SQLite database for this Label Studio version (built once, then copied)."""
    version = subprocess.run(
        [str(VENV / "bin" / "python"), "-c", "import label_studio; print(label_studio.__version__)"],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    ).stdout.strip()
    cache = Path(os.environ.get("LABEL_STUDIO_DB_CACHE") or VENV / "tfgbv-db-cache")
    cached = cache / f"label_studio-{version}-migrated.sqlite3"
    if not cached.exists():
        build = tmp / "db-build"
        build.mkdir()
        subprocess.run(
            [str(LS_BIN), "version"],
            env=_env(build, tmp),
            check=True,
            timeout=STARTUP_TIMEOUT,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
        cache.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(build / "label_studio.sqlite3", f"{cached}.part")
        os.replace(f"{cached}.part", cached)
    return cached


def _get(url: str, headers: dict | None = None, opener=None):
    req = urllib.request.Request(url, headers=headers or {})
    with (opener.open if opener else urllib.request.urlopen)(req, timeout=HTTP_TIMEOUT) as r:
        return r.status, r.read()


@pytest.fixture()
def label_studio(tmp_path):
    data, home = tmp_path / "ls-data", tmp_path / "ls-home"
    data.mkdir()
    home.mkdir()
    shutil.copyfile(_migrated_db(tmp_path), data / "label_studio.sqlite3")
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    log = (tmp_path / "label-studio.log").open("wb")
    cmd = [
        str(LS_BIN),
        "start",
        "--no-browser",
        "--internal-host",
        "127.0.0.1",
        "--port",
        str(port),
        "--username",
        ADMIN[0],
        "--password",
        ADMIN[1],
        "--user-token",
        ADMIN_TOKEN,
        "--enable-legacy-api-token",
    ]
    proc = subprocess.Popen(
        cmd,
        env=_env(data, home),
        stdout=log,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        start_new_session=True,
        preexec_fn=_die_with_parent,
    )
    try:
        deadline = time.monotonic() + STARTUP_TIMEOUT
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"label-studio exited ({proc.returncode}):\n{_tail(tmp_path)}")
            try:
                if _get(url + "/api/current-user/whoami", {"Authorization": f"Token {ADMIN_TOKEN}"})[0] == 200:
                    break
            except (urllib.error.URLError, ConnectionError, OSError):
                pass
            if time.monotonic() > deadline:
                raise TimeoutError(f"label-studio did not answer within {STARTUP_TIMEOUT}s:\n{_tail(tmp_path)}")
            time.sleep(0.5)
        # runserver silently moves to the next port when ours was taken meanwhile: make sure we talk to our server
        assert f":{port}/" in (tmp_path / "label-studio.log").read_text(errors="replace")
        yield url
    finally:
        if proc.poll() is None:
            try:
                os.killpg(proc.pid, signal.SIGTERM)
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=10)
            except ProcessLookupError:
                pass
        log.close()


def _tail(tmp_path: Path) -> str:
    return (tmp_path / "label-studio.log").read_text(errors="replace")[-3000:]


# ----------------------------------------------------------------------------- REST client


class Api:
    """JSON over HTTP with one authorisation header (legacy `Token` for the admin, `Bearer` for the annotator)."""

    def __init__(self, url: str, auth: str):
        self.url, self.auth = url, auth

    def call(self, method: str, path: str, body=None, raw: bool = False):
        data = None if body is None else json.dumps(body).encode()
        headers = {"Authorization": self.auth, "Content-Type": "application/json"}
        req = urllib.request.Request(self.url + path, data=data, headers=headers, method=method)
        try:
            with urllib.request.urlopen(req, timeout=HTTP_TIMEOUT) as r:
                payload = r.read()
        except urllib.error.HTTPError as err:
            raise AssertionError(f"{method} {path}: HTTP {err.code}: {err.read()[:2000]!r}") from err
        return payload if raw else json.loads(payload or b"null")


def sign_up_annotator(url: str, admin: Api) -> Api:
    """A second account through the organisation's invite link (the Community edition's only way to create a user
    with a password over HTTP), then a personal access token from its session, exchanged for an access token."""
    invite = admin.call("GET", "/api/invite")["invite_url"]
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar), _NoRedirect())
    signup = url + invite
    _, page = _get(signup, opener=opener)
    csrf = (
        _cookie(jar, "csrftoken") or re.search(rb'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1).decode()
    )
    form = urllib.parse.urlencode(
        {"csrfmiddlewaretoken": csrf, "email": ANNOTATOR[0], "password": ANNOTATOR[1], "how_find_us": ""}
    ).encode()
    req = urllib.request.Request(signup, data=form, headers={"Referer": signup}, method="POST")
    try:
        opener.open(req, timeout=HTTP_TIMEOUT)
        raise AssertionError("signup did not redirect (the form was refused)")
    except urllib.error.HTTPError as err:
        assert err.code == 302, f"signup: HTTP {err.code}: {err.read()[:2000]!r}"
    headers = {
        "X-CSRFToken": _cookie(jar, "csrftoken") or csrf,
        "Referer": url + "/",
        "Content-Type": "application/json",
    }
    req = urllib.request.Request(url + "/api/token/", data=b"{}", headers=headers, method="POST")
    with opener.open(req, timeout=HTTP_TIMEOUT) as r:
        pat = json.loads(r.read())["token"]
    req = urllib.request.Request(
        url + "/api/token/refresh/",
        data=json.dumps({"refresh": pat}).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(req, timeout=HTTP_TIMEOUT) as r:
        access = json.loads(r.read())["access"]
    return Api(url, f"Bearer {access}")


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None  # a 302 surfaces as HTTPError: the signup answer we check


def _cookie(jar, name: str) -> str | None:
    return next((c.value for c in jar if c.name == name), None)


# ----------------------------------------------------------------------------- the loop


def _run(script: str, *args: str, timeout: int = 300) -> str:
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "PYTHONPATH": str(REPO / "src")}
    proc = subprocess.run(
        [sys.executable, str(REPO / "scripts" / script), *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
        cwd=REPO,
    )
    assert proc.returncode == 0, f"{script} failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    return proc.stdout


def _result(labels: list[str], unsure: bool = False) -> list[dict]:
    out = (
        [{"from_name": "labels", "to_name": "text", "type": "choices", "value": {"choices": labels}}] if labels else []
    )
    if unsure:
        out.append({"from_name": "unsure", "to_name": "text", "type": "choices", "value": {"choices": ["unsure"]}})
    return out


@pytest.mark.timeout(900)
def test_select_annotate_export_import_train(tmp_path, label_studio):
    t0 = time.monotonic()
    # 1. a tiny run and a raw dump (the bundled test split without its labels)
    _run(
        "train.py",
        "model=tiny",
        "debug=fast",
        "data=seed",
        "evaluate_after_train=false",
        f"hydra.run.dir={tmp_path / 'run'}",
        f"paths.runs_dir={tmp_path / 'runs'}",
    )
    gold = {}
    with (tmp_path / "dump.jsonl").open("w", encoding="utf-8") as fh:
        for line in (REPO / "data" / "seed" / "test.jsonl").read_text(encoding="utf-8").splitlines()[:80]:
            row = json.loads(line)
            gold[row["id"]] = [lab for lab in ("insult", "shaming", "threat", "doxxing") if row.get(lab) == 1]
            fh.write(json.dumps({"id": row["id"], "text": row["text"], "lang": row["lang"]}, ensure_ascii=False) + "\n")
    batch = tmp_path / "batch"
    _run(
        "select_comments.py",
        f"model_dir={tmp_path / 'run'}",
        f"input={tmp_path / 'dump.jsonl'}",
        f"out_dir={batch}",
        "n=16",
    )

    # 2. a project with our labelling config, the tasks imported
    admin = Api(label_studio, f"Token {ADMIN_TOKEN}")
    me = admin.call("GET", "/api/current-user/whoami")
    config = (batch / rundir.LABEL_CONFIG).read_text(encoding="utf-8")
    project = admin.call(
        "POST",
        "/api/projects",
        {"title": "tfgbv test", "label_config": config, "maximum_annotations": 2, "show_collab_predictions": True},
    )
    tasks = json.loads((batch / rundir.TASKS).read_text(encoding="utf-8"))
    imported = admin.call("POST", f"/api/projects/{project['id']}/import", tasks)
    assert imported["task_count"] == 16 and imported["prediction_count"] == 16
    listed = admin.call("GET", f"/api/tasks?project={project['id']}&page_size=100")
    by_item = {t["data"]["id"]: t["id"] for t in (listed["tasks"] if isinstance(listed, dict) else listed)}
    assert len(by_item) == 16

    # 3. two annotators: the admin gives the gold labels, the second account disagrees on some, is unsure on one and
    # skips one
    annotator = sign_up_annotator(label_studio, admin)
    other = annotator.call("GET", "/api/current-user/whoami")
    assert other["id"] != me["id"]
    for k, (item, task_id) in enumerate(sorted(by_item.items())):
        admin.call("POST", f"/api/tasks/{task_id}/annotations/", {"result": _result(gold[item]), "lead_time": 2.0})
        if k == 0:
            body = {"result": [], "was_cancelled": True}
        else:
            labels = gold[item] if k % 4 else sorted(set(gold[item]) ^ {"insult"})
            body = {"result": _result(labels, unsure=k == 1), "lead_time": 3.0}
        made = annotator.call("POST", f"/api/tasks/{task_id}/annotations/", body)
        assert made["completed_by"] == other["id"]

    # 4. export, import
    export = tmp_path / "export.json"
    export.write_bytes(
        admin.call("GET", f"/api/projects/{project['id']}/export?exportType=JSON&download_all_tasks=true", raw=True)
    )
    annotated = tmp_path / "annotated" / "tg.jsonl"
    args = [f"export={export}", f"selection={batch / rundir.SELECTION}", f"output={annotated}", "salt=test"]
    summary = _last_json(_run("import_annotations.py", *args))
    assert summary["items"] == 16 and summary["annotators"] == 2 and summary["unsure"] == 1 and summary["skipped"] == 1
    first = annotated.read_bytes()
    _run("import_annotations.py", *args)
    assert annotated.read_bytes() == first  # re-importing the same export changes nothing
    raw = {
        json.loads(x)["id"]: json.loads(x)["text"] for x in (batch / rundir.SELECTION).read_text("utf-8").splitlines()
    }
    assert all(json.loads(x)["text"] == raw[json.loads(x)["id"]] for x in annotated.read_text("utf-8").splitlines())

    # 5. train on it
    run = tmp_path / "run-annotated"
    _run(
        "train.py",
        "model=tiny",
        "debug=fast",
        "data=annotated",
        f"data.sources.annotated.files.train={annotated}",
        f"hydra.run.dir={run}",
        f"paths.runs_dir={tmp_path / 'runs'}",
    )
    manifest = json.loads((run / rundir.MANIFEST).read_text(encoding="utf-8"))
    assert (run / rundir.METRICS).exists() and (run / rundir.CARD).exists()
    assert manifest["annotation"]["annotated"]["annotators"] == 2
    assert manifest["annotation"]["annotated"]["items"] == 16
    print(f"label studio round trip: {time.monotonic() - t0:.1f}s after server start")


def _last_json(stdout: str) -> dict:
    return json.loads(stdout[stdout.index("{") :])
