"""Parquet files of a task's splits, written in one streaming pass over its records.

Rows are dispatched batch by batch to one writer per split, so a build of any size holds only a batch
and at most one unfinished row group per split in memory. Row groups always have ``ROW_GROUP_SIZE``
rows (the last one fewer), so the bytes do not depend on how the records were batched.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from fedmeki_data.tasks import TaskSpec

MAX_SHARD_BYTES = 500 * 1024 * 1024
ROW_GROUP_SIZE = 128


class _SplitFile:
    """One split: Parquet shards of at most ``MAX_SHARD_BYTES`` and the split's summary for the manifest."""

    def __init__(self, folder: Path, name: str, schema: pa.Schema, task: TaskSpec) -> None:
        self.folder, self.name, self.schema, self.task = folder, name, schema, task
        self.pending: list[pa.Table] = []
        self.shards: list[Path] = []
        self.writer: pq.ParquetWriter | None = None
        self.shard_bytes = 0
        self.rows = self.nbytes = 0
        self.client_ids: set[int] = set()
        self.sites: set[str] = set()
        self.labels = np.zeros(len(task.label_names), dtype=np.int64)

    def add(self, table: pa.Table) -> None:
        self.rows += table.num_rows
        self.nbytes += table.nbytes
        self.client_ids.update(pc.unique(table["client_id"]).to_pylist())
        self.sites.update(site for site in pc.unique(table["site"]).to_pylist() if site)
        if self.task.is_binary:
            self.labels += np.bincount(table["label"].to_numpy(), minlength=len(self.labels))
        self.pending.append(table)
        pending = pa.concat_tables(self.pending)
        full = pending.num_rows // ROW_GROUP_SIZE * ROW_GROUP_SIZE
        if full:
            self._write(pending.slice(0, full))
        self.pending = [pending.slice(full)]

    def close(self) -> dict:
        rest = pa.concat_tables(self.pending) if self.pending else None
        if rest is not None and (rest.num_rows or not self.shards):
            self._write(rest)
        if self.writer is not None:
            self.writer.close()
        for index, shard in enumerate(self.shards):
            shard.rename(self.folder / f"{self.name}-{index:05d}-of-{len(self.shards):05d}.parquet")
        client_ids = sorted(self.client_ids)
        return {"rows": self.rows, "num_bytes": self.nbytes,
                "client_id": client_ids[0] if len(client_ids) == 1 else -1, "sites": sorted(self.sites),
                "label_counts": dict(zip(self.task.label_names, map(int, self.labels), strict=True))}

    def _write(self, table: pa.Table) -> None:
        if self.writer is None or self.shard_bytes >= MAX_SHARD_BYTES:
            if self.writer is not None:
                self.writer.close()
            self.shards.append(self.folder / f".{self.name}-{len(self.shards):05d}.partial")
            self.writer = pq.ParquetWriter(self.shards[-1], self.schema)
            self.shard_bytes = 0
        self.writer.write_table(table, row_group_size=ROW_GROUP_SIZE)
        self.shard_bytes += table.nbytes


def write_split_files(batches: Iterable[pa.RecordBatch], schema: pa.Schema, split: np.ndarray,
                      names: Sequence[str], folder: Path, task: TaskSpec,
                      client_id: np.ndarray | None = None) -> dict[str, dict]:
    """Write every record (in order) to the Parquet files of its split; return each split's summary.

    ``schema`` (the task's features, with only the features in its metadata) is what the files get;
    ``client_id`` (one per record), when given, replaces that column.
    """
    files = {name: _SplitFile(folder, name, schema, task) for name in names}
    column = schema.get_field_index("client_id")
    offset = 0
    for batch in batches:
        table = pa.Table.from_batches([batch]).replace_schema_metadata(schema.metadata)
        labels = split[offset:offset + table.num_rows]
        for name in np.unique(labels):
            mask = labels == name
            rows = table.filter(pa.array(mask))
            if client_id is not None:
                ids = client_id[offset:offset + table.num_rows][mask]
                rows = rows.set_column(column, "client_id", pa.array(ids, type=pa.int32()))
            files[name].add(rows)
        offset += table.num_rows
    if offset != len(split):
        raise ValueError(f"{task.id}: {offset} records but {len(split)} split names")
    return {name: files[name].close() for name in names}
