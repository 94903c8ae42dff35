"""Areas in km² on the WGS 84 ellipsoid, through Lambert's cylindrical equal-area projection.

Geodetic latitude φ becomes the authalic latitude β (the sphere of radius R_q with the ellipsoid's
surface area, WGS 84), then x = R_q·λ, y = R_q·sin β. The map is equal-area, so a planar area there
is the ellipsoidal area of the polygon whose edges are straight in that projection: exact for edges
along meridians and parallels (a lat/lon cell), and within a hair of GeoJSON's straight lon/lat
edges for a city district. Polygons crossing the antimeridian must be split (RFC 7946 § 3.1.9).
"""

import math

import numpy as np
import shapely

A = 6_378_137.0  # WGS 84 semi-major axis, m
F = 1 / 298.257223563
E2 = F * (2 - F)
E = math.sqrt(E2)


def _q(sin_phi: np.ndarray) -> np.ndarray:
    """Snyder's q(φ) (Map Projections, USGS 1395, eq. 3-12)."""
    es = E * sin_phi
    return (1 - E2) * (sin_phi / (1 - es * es) - (1 / (2 * E)) * np.log((1 - es) / (1 + es)))


Q_P = float(_q(np.array(1.0)))
R_Q = A * math.sqrt(Q_P / 2)  # authalic radius, 6,371,007.18 m


def to_equal_area(lonlat: np.ndarray) -> np.ndarray:
    """(n, 2) lon/lat degrees → (n, 2) metres in the cylindrical equal-area projection."""
    lon = np.radians(lonlat[:, 0])
    sin_beta = _q(np.sin(np.radians(lonlat[:, 1]))) / Q_P
    return np.column_stack((R_Q * lon, R_Q * np.clip(sin_beta, -1.0, 1.0)))


def area_km2(geometry: shapely.Geometry) -> float:
    """The ellipsoidal area of a lon/lat polygon or multipolygon, in km²."""
    return float(shapely.area(shapely.transform(geometry, to_equal_area))) / 1e6
