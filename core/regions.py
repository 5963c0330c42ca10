"""Distance between regions, for putting a model's nearest deployment first.

Regions are named loosely (``us-east``, ``us-east-1``, ``eastus``, ``europe-west4``, ``local``);
:func:`region_distance` maps each to an approximate location and returns great-circle distance in
km. Same name -> 0. ``local``/``global`` and unknown names sort after every known region of the same
model (distance :data:`UNKNOWN_KM`), except that ``local`` is 0 from an origin that is also local.

Coordinates are rough city centres of the cloud regions those names usually denote (AWS, GCP,
Azure public region maps); precision of a few hundred km is enough to order deployments.
"""

from __future__ import annotations

import math

UNKNOWN_KM = 20_000.0

_COORDS: dict[str, tuple[float, float]] = {
    "us-east": (38.9, -77.4),      # N. Virginia
    "us-east-2": (40.0, -83.0),    # Ohio
    "us-central": (41.3, -95.9),   # Iowa
    "us-west": (45.6, -121.2),     # Oregon
    "us-south": (29.4, -98.5),     # Texas
    "ca-central": (45.5, -73.6),   # Montreal
    "sa-east": (-23.5, -46.6),     # Sao Paulo
    "eu-west": (53.3, -6.3),       # Dublin
    "eu-west-2": (51.5, -0.1),     # London
    "eu-central": (50.1, 8.7),     # Frankfurt
    "eu-north": (59.3, 18.1),      # Stockholm
    "eu-south": (45.5, 9.2),       # Milan
    "me-central": (25.2, 55.3),    # UAE
    "ap-south": (19.1, 72.9),      # Mumbai
    "ap-southeast": (1.35, 103.8),  # Singapore
    "ap-southeast-2": (-33.9, 151.2),  # Sydney
    "ap-northeast": (35.7, 139.7),  # Tokyo
    "ap-east": (22.3, 114.2),       # Hong Kong
}

_ALIASES: dict[str, str] = {
    "us-east-1": "us-east", "eastus": "us-east", "us-east4": "us-east", "useast": "us-east",
    "us-east-2": "us-east-2", "eastus2": "us-east",
    "us-central1": "us-central", "centralus": "us-central",
    "us-west-2": "us-west", "us-west1": "us-west", "westus": "us-west", "us-west-1": "us-west",
    "southcentralus": "us-south",
    "eu-west-1": "eu-west", "europe-west1": "eu-west", "northeurope": "eu-west", "westeurope": "eu-west",
    "europe-west2": "eu-west-2", "uksouth": "eu-west-2",
    "eu-central-1": "eu-central", "europe-west3": "eu-central", "europe-west4": "eu-west",
    "germanywestcentral": "eu-central",
    "eu-north-1": "eu-north", "swedencentral": "eu-north",
    "ap-southeast-1": "ap-southeast", "asia-southeast1": "ap-southeast", "southeastasia": "ap-southeast",
    "ap-northeast-1": "ap-northeast", "asia-northeast1": "ap-northeast", "japaneast": "ap-northeast",
    "ap-south-1": "ap-south", "asia-south1": "ap-south", "centralindia": "ap-south",
    "australiaeast": "ap-southeast-2", "australia-southeast1": "ap-southeast-2",
}


def _coords(region: str) -> tuple[float, float] | None:
    key = region.strip().lower()
    key = _ALIASES.get(key, key)
    return _COORDS.get(key)


def region_distance(origin: str, region: str) -> float:
    """Approximate distance in km from ``origin`` to ``region`` (0 for the same name)."""
    if origin.strip().lower() == region.strip().lower():
        return 0.0
    a, b = _coords(origin), _coords(region)
    if a is None or b is None:
        return UNKNOWN_KM
    lat1, lon1, lat2, lon2 = map(math.radians, (*a, *b))
    h = math.sin((lat2 - lat1) / 2) ** 2 + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    return 2 * 6371.0 * math.asin(min(1.0, math.sqrt(h)))
