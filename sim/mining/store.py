"""The failure store: one SQLite file per mining campaign holding its meta, every evaluated episode
and the failures detected in it.

Crash safety. The file is opened in WAL mode with ``synchronous=FULL`` and every write is one
explicit ``BEGIN IMMEDIATE ... COMMIT`` transaction, so killing the process at any moment loses no
committed episode and never leaves an episode without its failures (or failures without their
episode). WAL lets a report read the file while a campaign writes it; ``synchronous=FULL`` makes
SQLite fsync the WAL at every commit, so a committed episode survives a power loss too (``NORMAL``
in WAL mode survives a killed process but may drop the last commits on a power loss).

Schema (``PRAGMA user_version`` = ``SCHEMA_VERSION``, ``PRAGMA application_id`` = ``APPLICATION_ID``):

- ``campaign``: a single row, ``meta`` as JSON (agent, strategy, space, seed, batch, budget, ...).
- ``episodes``: one row per evaluated point; ``params`` a JSON list of floats in [0, 1],
  ``danger`` in [0, 1], ``failed`` 0/1, ``metrics`` JSON, ``created`` a Unix time [s];
  ``(batch, idx)`` unique.
- ``failures``: one row per detected failure, pointing at its episode; ``distinct_of`` is NULL for
  a distinct failure, else the id of the earlier failure it duplicates.
"""
from __future__ import annotations

import json
import math
import sqlite3
import time
from contextlib import contextmanager
from pathlib import Path

SCHEMA_VERSION = 1
APPLICATION_ID = 0x524C4653
"""SQLite ``application_id`` marking a roadloop failure store (ASCII 'RLFS')."""
CAMPAIGN_KEYS = ("agent", "strategy", "space", "seed", "batch")
"""Meta keys that define a campaign: reopening a store with other values for these is refused."""

FAILURE_FIELDS = ("detector", "cluster_key", "road_type", "actors", "detail", "step", "distinct_of",
                  "scenario_path", "log_path")
"""Keys of a failure dict given to ``FailureStore.add_episode``; ``detector`` and ``cluster_key`` are required."""

_SCHEMA = """
CREATE TABLE campaign (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    meta TEXT NOT NULL
);
CREATE TABLE episodes (
    id INTEGER PRIMARY KEY,
    batch INTEGER NOT NULL,
    idx INTEGER NOT NULL,
    params TEXT NOT NULL,
    seed INTEGER NOT NULL,
    danger REAL NOT NULL,
    failed INTEGER NOT NULL,
    metrics TEXT NOT NULL,
    log_path TEXT,
    "case" TEXT,
    created REAL NOT NULL,
    UNIQUE (batch, idx)
);
CREATE TABLE failures (
    id INTEGER PRIMARY KEY,
    episode_id INTEGER NOT NULL REFERENCES episodes(id),
    detector TEXT NOT NULL,
    cluster_key TEXT NOT NULL,
    road_type TEXT,
    actors TEXT NOT NULL,
    detail TEXT,
    step INTEGER,
    distinct_of INTEGER REFERENCES failures(id),
    scenario_path TEXT,
    log_path TEXT
);
CREATE INDEX failures_episode ON failures(episode_id);
CREATE INDEX failures_cluster ON failures(cluster_key);
"""


class StoreError(RuntimeError):
    """A store file that cannot be used as asked; the message names the file and the problem."""


def _json_default(value):
    """JSON for numpy scalars and arrays (``.item()`` / ``.tolist()``); anything else is refused."""
    for attr in ("tolist", "item"):
        if hasattr(value, attr):
            return getattr(value, attr)()
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def _dumps(value) -> str:
    return json.dumps(value, default=_json_default, sort_keys=True)


class FailureStore:
    """One mining campaign's SQLite file (see the module docstring for the schema and crash safety).

    ``FailureStore(path, meta)`` creates the file (and its parent folders) holding ``meta``, or opens
    an existing one; given ``meta``, an existing file whose meta differs on ``CAMPAIGN_KEYS`` is
    refused (``StoreError`` naming the keys). ``FailureStore(path)`` only opens an existing store.
    The stored meta is ``self.meta``. One process writes a store; others may read it meanwhile.
    """

    def __init__(self, path, meta: dict | None = None):
        self.path = Path(path)
        if meta is not None and not isinstance(meta, dict):
            raise TypeError(f"meta must be a dict, not {type(meta).__name__}")
        existed = self.path.exists()
        if not existed and meta is None:
            raise StoreError(f"{self.path}: no failure store there (give meta to create one)")
        if not existed:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            self._conn = sqlite3.connect(str(self.path), timeout=30.0, isolation_level=None)
        except sqlite3.Error as e:
            raise StoreError(f"{self.path}: cannot open ({e})") from None
        try:
            self.meta = self._open(meta)
        except BaseException:
            self._conn.close()
            raise

    def _open(self, meta: dict | None) -> dict:
        conn = self._conn
        try:
            app_id = conn.execute("PRAGMA application_id").fetchone()[0]
            version = conn.execute("PRAGMA user_version").fetchone()[0]
            n_objects = conn.execute("SELECT count(*) FROM sqlite_master").fetchone()[0]
        except sqlite3.DatabaseError as e:
            raise StoreError(f"{self.path}: not a roadloop failure store ({e})") from None
        empty = app_id == 0 and version == 0 and n_objects == 0
        if not empty and app_id != APPLICATION_ID:
            raise StoreError(f"{self.path}: not a roadloop failure store "
                             f"(SQLite application_id {app_id:#x}, expected {APPLICATION_ID:#x})")
        if not empty and version > SCHEMA_VERSION:
            raise StoreError(f"{self.path}: store schema version {version} is newer than this roadloop "
                             f"reads (up to {SCHEMA_VERSION})")
        try:
            mode = conn.execute("PRAGMA journal_mode=WAL").fetchone()[0]
            conn.execute("PRAGMA synchronous=FULL")
            conn.execute("PRAGMA foreign_keys=ON")
        except sqlite3.Error as e:
            raise StoreError(f"{self.path}: cannot set up the store ({e})") from None
        if mode.lower() != "wal":
            raise StoreError(f"{self.path}: cannot switch to WAL journal mode (got {mode!r})")
        if empty:
            if meta is None:
                raise StoreError(f"{self.path}: empty database, not a failure store (give meta to create one)")
            return self._create(meta)
        row = conn.execute("SELECT meta FROM campaign WHERE id = 1").fetchone()
        if row is None:
            raise StoreError(f"{self.path}: failure store without its campaign row")
        stored = json.loads(row[0])
        if meta is not None:
            given = json.loads(_dumps(meta))
            differ = [k for k in CAMPAIGN_KEYS if stored.get(k) != given.get(k)]
            if differ:
                detail = ", ".join(f"{k}: stored {stored.get(k)!r}, given {given.get(k)!r}" for k in differ)
                raise StoreError(f"{self.path}: belongs to another campaign; {detail}")
        return stored

    def _create(self, meta: dict) -> dict:
        text = _dumps(meta)
        with self._transaction():
            for statement in _SCHEMA.split(";"):
                if statement.strip():
                    self._conn.execute(statement)
            self._conn.execute("INSERT INTO campaign (id, meta) VALUES (1, ?)", (text,))
            self._conn.execute(f"PRAGMA application_id = {APPLICATION_ID}")
            self._conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
        return json.loads(text)

    @contextmanager
    def _transaction(self):
        """One ``BEGIN IMMEDIATE ... COMMIT``; rolled back if the body raises."""
        conn = self._conn
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")

    def done(self) -> set[tuple[int, int]]:
        """The ``(batch, idx)`` of every stored episode."""
        return {(b, i) for b, i in self._conn.execute("SELECT batch, idx FROM episodes")}

    def add_episode(self, batch: int, idx: int, params, seed: int, danger: float, failed: bool,
                    metrics: dict, log_path: str | None, case: str | None, failures: list[dict]) -> int:
        """Store one evaluated episode and its failures in one transaction; returns the episode id.

        ``params``: the point's coordinates, floats in [0, 1]; ``danger`` in [0, 1]; ``failures``:
        dicts with the keys ``FAILURE_FIELDS`` (``detector`` and ``cluster_key`` required, ``actors``
        a list, ``distinct_of`` None or the id of an already stored failure). A ``(batch, idx)``
        already stored raises StoreError.
        """
        params = [float(p) for p in params]
        if not all(0.0 <= p <= 1.0 for p in params):
            raise ValueError(f"params must lie in [0, 1], got {params}")
        danger = float(danger)
        if not (math.isfinite(danger) and 0.0 <= danger <= 1.0):
            raise ValueError(f"danger must lie in [0, 1], got {danger}")
        rows = [self._failure_row(f) for f in failures]
        episode = (int(batch), int(idx), _dumps(params), int(seed), danger, int(bool(failed)),
                   _dumps(metrics), None if log_path is None else str(log_path),
                   None if case is None else str(case), time.time())
        conn = self._conn
        try:
            with self._transaction():
                cur = conn.execute(
                    'INSERT INTO episodes (batch, idx, params, seed, danger, failed, metrics, log_path, "case", '
                    "created) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", episode)
                episode_id = cur.lastrowid
                conn.executemany(
                    "INSERT INTO failures (episode_id, detector, cluster_key, road_type, actors, detail, step, "
                    "distinct_of, scenario_path, log_path) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    [(episode_id, *row) for row in rows])
        except sqlite3.IntegrityError as e:
            if "UNIQUE" in str(e):
                raise StoreError(f"{self.path}: episode (batch {batch}, idx {idx}) is already stored") from None
            raise StoreError(f"{self.path}: episode (batch {batch}, idx {idx}) refused ({e}); "
                             "is every distinct_of the id of a stored failure?") from None
        return episode_id

    @staticmethod
    def _failure_row(failure: dict) -> tuple:
        unknown = sorted(set(failure) - set(FAILURE_FIELDS))
        if unknown:
            raise ValueError(f"unknown failure keys {unknown}; known: {list(FAILURE_FIELDS)}")
        for key in ("detector", "cluster_key"):
            if not failure.get(key):
                raise ValueError(f"failure without {key!r}: {failure}")
        step = failure.get("step")
        distinct_of = failure.get("distinct_of")
        opt = (lambda v: None if v is None else str(v))
        return (str(failure["detector"]), str(failure["cluster_key"]), opt(failure.get("road_type")),
                _dumps(list(failure.get("actors") or [])), opt(failure.get("detail")),
                None if step is None else int(step), None if distinct_of is None else int(distinct_of),
                opt(failure.get("scenario_path")), opt(failure.get("log_path")))

    def failure_ids(self, episode_id: int) -> list[int]:
        """Ids of the failures stored with episode ``episode_id``, in insertion order."""
        cur = self._conn.execute("SELECT id FROM failures WHERE episode_id = ? ORDER BY id", (int(episode_id),))
        return [row[0] for row in cur]

    def episodes(self) -> list[dict]:
        """Every episode ordered by ``(batch, idx)``; ``params`` and ``metrics`` decoded, ``failed`` a bool."""
        cur = self._conn.execute(
            'SELECT id, batch, idx, params, seed, danger, failed, metrics, log_path, "case", created '
            "FROM episodes ORDER BY batch, idx")
        out = []
        for row in cur:
            d = dict(zip(("id", "batch", "idx", "params", "seed", "danger", "failed", "metrics", "log_path",
                          "case", "created"), row))
            d["params"] = json.loads(d["params"])
            d["metrics"] = json.loads(d["metrics"])
            d["failed"] = bool(d["failed"])
            out.append(d)
        return out

    def failures(self, distinct_only: bool = False) -> list[dict]:
        """Failures ordered by id (only distinct ones if asked), each with its episode's ``batch``,
        ``idx``, ``params`` and ``seed``; ``actors`` decoded."""
        keys = ("id", "episode_id", "detector", "cluster_key", "road_type", "actors", "detail", "step",
                "distinct_of", "scenario_path", "log_path", "batch", "idx", "params", "seed")
        where = "WHERE f.distinct_of IS NULL " if distinct_only else ""
        cur = self._conn.execute(
            "SELECT f.id, f.episode_id, f.detector, f.cluster_key, f.road_type, f.actors, f.detail, f.step, "
            "f.distinct_of, f.scenario_path, f.log_path, e.batch, e.idx, e.params, e.seed "
            f"FROM failures f JOIN episodes e ON e.id = f.episode_id {where}ORDER BY f.id")
        out = []
        for row in cur:
            d = dict(zip(keys, row))
            d["actors"] = json.loads(d["actors"])
            d["params"] = json.loads(d["params"])
            out.append(d)
        return out

    def clusters(self) -> list[dict]:
        """Per ``cluster_key``: ``count`` (all failures), ``distinct`` (those with no ``distinct_of``)
        and ``first_id`` (its earliest failure); ordered by ``first_id``."""
        cur = self._conn.execute(
            "SELECT cluster_key, count(*), sum(distinct_of IS NULL), min(id) FROM failures "
            "GROUP BY cluster_key ORDER BY min(id)")
        return [{"cluster_key": k, "count": n, "distinct": int(d), "first_id": first} for k, n, d, first in cur]

    def close(self) -> None:
        self._conn.close()

    def __enter__(self) -> FailureStore:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"FailureStore({str(self.path)!r})"
