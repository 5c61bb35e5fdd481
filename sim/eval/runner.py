"""Running episode jobs in parallel: in this process, on local worker processes, or on a Ray cluster."""
from __future__ import annotations

import multiprocessing
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from typing import Iterable, Iterator

from sim.eval.episode import EpisodeJob, run_episode

BACKENDS = ("local", "ray")


class Runner:
    """Runs EpisodeJobs on ``workers`` processes (``backend="local"``; 1 worker runs in this process) or on
    Ray (``backend="ray"``: ``address`` of a running cluster, or None to start a local Ray instance with
    ``workers`` CPUs). Use as a context manager; ``run`` yields results as episodes finish."""

    def __init__(self, workers: int = 1, backend: str = "local", address: str | None = None):
        if backend not in BACKENDS:
            raise ValueError(f"unknown backend {backend!r}; known: {list(BACKENDS)}")
        if not (isinstance(workers, int) and workers >= 1):
            raise ValueError(f"workers must be an int >= 1, got {workers!r}")
        if address is not None and backend != "ray":
            raise ValueError("an address is only used with backend='ray'")
        self.workers, self.backend, self.address = workers, backend, address
        self._pool = None
        self._ray = None
        self._remote = None

    def __enter__(self) -> "Runner":
        if self.backend == "ray":
            try:
                import ray
            except ImportError:
                raise RuntimeError("backend 'ray' needs Ray: pip install 'roadloop[ray]'") from None
            if not ray.is_initialized():
                if self.address is None:
                    ray.init(num_cpus=self.workers, include_dashboard=False, log_to_driver=False)
                else:
                    ray.init(address=self.address, log_to_driver=False)
            self._ray = ray
            self._remote = ray.remote(num_cpus=1)(run_episode)
        elif self.workers > 1:
            self._pool = ProcessPoolExecutor(self.workers, mp_context=multiprocessing.get_context("spawn"))
        return self

    def __exit__(self, *exc) -> None:
        if self._pool is not None:
            self._pool.shutdown(cancel_futures=True)
            self._pool = None
        if self._ray is not None:
            self._ray.shutdown()
            self._ray = None

    def run(self, jobs: Iterable[EpisodeJob]) -> Iterator[dict]:
        """Results of ``jobs`` (dicts from run_episode) in the order they finish."""
        jobs = list(jobs)
        if self._ray is not None:
            pending = [self._remote.remote(job) for job in jobs]
            while pending:
                done, pending = self._ray.wait(pending, num_returns=1)
                yield self._ray.get(done[0])
        elif self._pool is not None:
            pending = {self._pool.submit(run_episode, job) for job in jobs}
            while pending:
                done, pending = wait(pending, return_when=FIRST_COMPLETED)
                for future in done:
                    yield future.result()
        else:
            for job in jobs:
                yield run_episode(job)
