"""Shared builders for the cityindex tests: squares near Korat and an independent area formula."""

from typing import Any

import numpy as np

A, F = 6_378_137.0, 1 / 298.257223563
E2 = F * (2 - F)
LAT0, LON0, SIDE = 14.97, 102.10, 0.01  # Korat's old city moat, three 0.01° districts side by side


def cell_km2(lon0: float, lat0: float, lon1: float, lat1: float) -> float:
    """The area of a lon/lat cell on the WGS 84 ellipsoid, integrating M(φ)·N(φ)·cos φ numerically
    (a different road from the code's authalic latitude)."""
    phi = np.radians(np.linspace(lat0, lat1, 20_001))
    w = 1 - E2 * np.sin(phi) ** 2
    meridional = A * (1 - E2) / w**1.5
    normal = A / np.sqrt(w)
    return float(np.trapezoid(meridional * normal * np.cos(phi), phi) * np.radians(lon1 - lon0) / 1e6)


def ring(lon0: float, lat0: float, lon1: float, lat1: float) -> list[list[float]]:
    return [[lon0, lat0], [lon1, lat0], [lon1, lat1], [lon0, lat1], [lon0, lat0]]


def feature(code: Any, coordinates: Any, kind: str = "Polygon", **properties: Any) -> dict[str, Any]:
    return {
        "type": "Feature",
        "properties": {"code": code, **properties},
        "geometry": {"type": kind, "coordinates": coordinates},
    }


def district(i: int, code: str, **properties: Any) -> dict[str, Any]:
    """The i-th 0.01° square east of (LON0, LAT0)."""
    lon = LON0 + i * SIDE
    return feature(code, [ring(lon, LAT0, lon + SIDE, LAT0 + SIDE)], **properties)


def collection(*features: Any) -> dict[str, Any]:
    return {"type": "FeatureCollection", "features": list(features)}
