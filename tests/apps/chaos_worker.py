"""Two supervised job-worker processes that know the test app's slow COUNT handler (so a job
taking over from a killed web worker runs the same handler), for bench/chaos.py."""

from bot.worker import run_workers, work
from tests.apps.handlers import COUNT_HANDLER


def work_with_count(threads: int) -> None:
    work(threads, extra_handlers=[COUNT_HANDLER])


if __name__ == "__main__":
    raise SystemExit(run_workers(processes=2, threads=4, target=work_with_count))
