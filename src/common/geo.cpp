#include "common/geo.h"

#include <algorithm>
#include <cmath>
#include <numbers>

namespace hutong {

namespace {
constexpr double kRad = std::numbers::pi / 180.0;
}  // namespace

double HaversineMeters(double lat1, double lng1, double lat2, double lng2) {
  const double dlat = (lat2 - lat1) * kRad;
  const double dlng = (lng2 - lng1) * kRad;
  const double a = std::sin(dlat / 2) * std::sin(dlat / 2) +
                   std::cos(lat1 * kRad) * std::cos(lat2 * kRad) * std::sin(dlng / 2) * std::sin(dlng / 2);
  return 2 * kEarthRadiusM * std::asin(std::min(1.0, std::sqrt(a)));
}

double LatDegreesFor(double meters) {
  return meters / kEarthRadiusM / kRad;
}

double LngDegreesFor(double meters, double lat) {
  // The widest longitude span of a circle of this radius sits at the latitude of its
  // nearest edge to the pole; use that edge's cosine so the box never cuts the circle.
  const double edge = std::min(90.0, std::abs(lat) + LatDegreesFor(meters));
  const double c = std::cos(edge * kRad);
  if (c < 1e-9) return 360.0;
  return std::min(360.0, LatDegreesFor(meters) / c);
}

}  // namespace hutong
