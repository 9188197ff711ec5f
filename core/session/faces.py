"""The face regions of the open photo: boxes (and landmarks) a detector found or the user drew and edited.

Events: "changed" (list of regions) after any change.
"""

from __future__ import annotations

from core.regions import Region
from core.session.events import Events


class FaceRegions:
    def __init__(self) -> None:
        self.events = Events()
        self._regions: list[Region] = []

    @property
    def regions(self) -> list[Region]:
        return list(self._regions)

    def __len__(self) -> int:
        return len(self._regions)

    def set(self, regions: list[Region]) -> None:
        self._regions = list(regions)
        self._changed()

    def add(self, region: Region) -> None:
        self._regions.append(region)
        self._changed()

    def replace(self, index: int, region: Region) -> None:
        self._regions[index] = region
        self._changed()

    def remove(self, indices: list[int]) -> None:
        drop = set(indices)
        self._regions = [r for i, r in enumerate(self._regions) if i not in drop]
        self._changed()

    def clear(self) -> None:
        self.set([])

    def _changed(self) -> None:
        self.events.emit("changed", self.regions)
