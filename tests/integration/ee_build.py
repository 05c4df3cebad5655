"""The execution environment image (`kt2 ee build`), built in the background from the session's start at the
lowest CPU priority, like the molecule scenarios (molecule_runs): the lab tests leave CPU idle while they
wait on hosts, and test_66 then finds the image ready instead of building it in the foreground."""

from concurrent.futures import Future, ThreadPoolExecutor

from tests.conftest import run

_pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="ee-build")
_build: list[Future] = []


def start() -> None:
    if not _build:
        _build.append(_pool.submit(run, "nice", "-n", "19", ".venv/bin/kt2", "ee", "build", check=False,
                                   timeout=1800))


def image() -> str:
    """The image's tag, once the build has ended; the build's own words when it failed."""
    start()
    proc = _build[0].result()
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-3000:]
    return proc.stdout.strip().splitlines()[-1]


def stop() -> None:
    _pool.shutdown(wait=False, cancel_futures=True)
