"""Crisis resources shown at once when a screening shows high suicide risk.

The packaged default covers the US (988; 911 in immediate danger). A clinic
can add regions or replace them with configuration data of the same shape.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from importlib import resources
from types import MappingProxyType
from typing import Any

DEFAULT_CRISIS_RESOURCES_FILE = "crisis_resources_default.json"

_REGION = re.compile(r"^[A-Z]{2}(-[A-Z0-9]{1,3})?$")


class InvalidCrisisResources(ValueError):
    """Crisis resource configuration is malformed."""


@dataclass(frozen=True)
class CrisisResource:
    name: str
    instructions: str
    phone: str | None = None
    sms: str | None = None
    url: str | None = None

    def to_dict(self) -> dict[str, str]:
        fields = {"phone": self.phone, "sms": self.sms, "url": self.url}
        extra = {key: value for key, value in fields.items() if value is not None}
        return {"name": self.name, "instructions": self.instructions, **extra}


@dataclass(frozen=True)
class CrisisDirectory:
    """Crisis resources per region (ISO 3166 code, e.g. "US" or "US-CA")."""

    default_region: str
    regions: Mapping[str, tuple[CrisisResource, ...]]

    def for_region(self, region: str | None) -> tuple[CrisisResource, ...]:
        """Resources for `region`, or for the default region when it has none.

        Never empty: a patient in crisis must always see somewhere to turn.
        """
        key = (region or "").strip().upper()
        return self.regions.get(key) or self.regions[self.default_region]

    def merged_with(self, config: Mapping[str, Any]) -> CrisisDirectory:
        """A copy where regions in `config` replace or add to these ones."""
        override = _parse(config, require_default=False)
        regions = MappingProxyType({**self.regions, **override.regions})
        default_region = override.default_region or self.default_region
        return _checked(CrisisDirectory(default_region=default_region, regions=regions))

    @classmethod
    def from_dict(cls, config: Mapping[str, Any]) -> CrisisDirectory:
        return _checked(_parse(config, require_default=True))


def default_crisis_directory() -> CrisisDirectory:
    return _load_packaged(DEFAULT_CRISIS_RESOURCES_FILE)


def crisis_resources(
    region: str | None = "US", config: Mapping[str, Any] | None = None
) -> tuple[CrisisResource, ...]:
    """Crisis resources for a region, with optional clinic configuration on top."""
    directory = default_crisis_directory()
    if config is not None:
        directory = directory.merged_with(config)
    return directory.for_region(region)


@cache
def _load_packaged(filename: str) -> CrisisDirectory:
    text = resources.files(__package__).joinpath(filename).read_text(encoding="utf-8")
    return CrisisDirectory.from_dict(json.loads(text))


def _parse(config: Mapping[str, Any], *, require_default: bool) -> CrisisDirectory:
    if not isinstance(config, Mapping):
        raise InvalidCrisisResources("Crisis resources config must be an object.")
    default_region = config.get("default_region", "")
    if require_default or default_region:
        if not isinstance(default_region, str) or not _REGION.match(default_region):
            raise InvalidCrisisResources("default_region must be a region code like 'US'.")
    regions_data = config.get("regions", {})
    if not isinstance(regions_data, Mapping):
        raise InvalidCrisisResources("regions must be an object.")
    regions = {
        _region_key(region): _parse_resources(resources_data)
        for region, resources_data in regions_data.items()
    }
    # Read-only: the packaged default is cached and shared.
    return CrisisDirectory(default_region=default_region, regions=MappingProxyType(regions))


def _region_key(region: object) -> str:
    if not isinstance(region, str) or not _REGION.match(region.upper()):
        raise InvalidCrisisResources("Region keys must be codes like 'US' or 'US-CA'.")
    return region.upper()


def _parse_resources(data: object) -> tuple[CrisisResource, ...]:
    if not isinstance(data, list) or not data:
        raise InvalidCrisisResources("Each region needs a non-empty list of resources.")
    return tuple(_parse_resource(entry) for entry in data)


def _parse_resource(data: object) -> CrisisResource:
    if not isinstance(data, Mapping):
        raise InvalidCrisisResources("A crisis resource must be an object.")
    unknown = set(data) - {"name", "instructions", "phone", "sms", "url"}
    if unknown:
        raise InvalidCrisisResources("A crisis resource has unknown fields.")
    for key in ("name", "instructions"):
        if not isinstance(data.get(key), str) or not data[key].strip():
            raise InvalidCrisisResources(f"A crisis resource needs a {key}.")
    for key in ("phone", "sms", "url"):
        if data.get(key) is not None and not isinstance(data[key], str):
            raise InvalidCrisisResources(f"A crisis resource {key} must be text.")
    return CrisisResource(**data)


def _checked(directory: CrisisDirectory) -> CrisisDirectory:
    if directory.default_region not in directory.regions:
        raise InvalidCrisisResources("default_region must have resources of its own.")
    return directory
