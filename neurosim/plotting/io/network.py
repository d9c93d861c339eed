"""``network.json``: the blocks (size, activation, role, task) and projections of a run's network."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from .contract import NETWORK
from .documents import read_json


@dataclass
class BlockInfo:
    name: str
    size: int = 1
    activation: str = ""
    role: str = "free"
    task: str | None = None


@dataclass
class NetworkInfo:
    blocks: list[BlockInfo]
    projections: list[dict]

    def block(self, name: str) -> BlockInfo | None:
        for b in self.blocks:
            if b.name == name:
                return b
        return None

    def task_blocks(self, task: str) -> list[str]:
        """Blocks that belong to ``task`` (clamped or nudged by it)."""
        return [b.name for b in self.blocks if b.task == task and b.role != "free"]

    def tasks(self) -> list[str]:
        out: list[str] = []
        for b in self.blocks:
            if b.task and b.task not in out:
                out.append(b.task)
        return out


def read_network(run_dir: Path | str) -> NetworkInfo | None:
    data = read_json(Path(run_dir) / NETWORK)
    if data is None:
        return None
    blocks = [BlockInfo(name=str(b["name"]), size=int(b.get("size", 1) or 1),
                        activation=str(b.get("activation", "") or ""),
                        role=str(b.get("role", "free") or "free"), task=b.get("task"))
              for b in data.get("blocks", [])]
    projections = []
    for p in data.get("projections", []):
        name = str(p.get("name") or f"{p['pre']}->{p['post']}")
        pre, post = p.get("pre"), p.get("post")
        if (pre is None or post is None) and "->" in name:
            pre, post = name.split("->", 1)
        projections.append({"name": name, "pre": str(pre), "post": str(post)})
    return NetworkInfo(blocks=blocks, projections=projections)
