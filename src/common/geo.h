// Great-circle distances on a spherical Earth, for nearby and distance-ranked search.
#pragma once

namespace hutong {

// The IUGG mean Earth radius; haversine with it is within 0.5% of the ellipsoid.
inline constexpr double kEarthRadiusM = 6'371'008.8;

// Haversine distance in metres between two (lat, lng) points in degrees.
double HaversineMeters(double lat1, double lng1, double lat2, double lng2);

// Degrees of latitude / longitude (at `lat`) spanning `meters`; the longitude span is
// capped at 360 near the poles. For bounding boxes that contain every point within
// `meters`.
double LatDegreesFor(double meters);
double LngDegreesFor(double meters, double lat);

}  // namespace hutong
